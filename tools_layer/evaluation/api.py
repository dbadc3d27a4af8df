"""Evaluations API: start one (operators and admins; a Job), list them side by side per generator,
one evaluation, and an image evaluation's sample grid. Whoever can see a generator sees its evaluations."""

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.permissions import IsOperatorToWrite
from aigc_platform.core.errors import NotFound
from infrastructure.compute.serializers import JobStartedSerializer, job_started_response
from infrastructure.storage.selectors import file_open
from tools_layer.evaluation import selectors, services
from tools_layer.evaluation.serializers import EvaluationCreateSerializer, EvaluationSerializer


class EvaluationListApi(ListAPIView):
    serializer_class = EvaluationSerializer
    permission_classes = [IsOperatorToWrite]

    def get_queryset(self):
        params = self.request.query_params
        return selectors.evaluations_filtered(
            user=self.request.user,
            generator=params.get("generator", "").strip() or None,
            dataset_version=params.get("dataset_version", "").strip() or None,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "generator", str, description="Only this generator's evaluations (its slug): its versions side by side."
            ),
            OpenApiParameter("dataset_version", str, description="Only evaluations on this dataset version (its id)."),
        ]
    )
    def get(self, request, *args, **kwargs):
        """Evaluations newest first, each with its version, status and metrics."""
        return super().get(request, *args, **kwargs)

    @extend_schema(request=EvaluationCreateSerializer, responses={202: JobStartedSerializer})
    def post(self, request):
        """Evaluate a version (default: production) as a Job, followed at /api/v1/jobs/{job}/events/: text
        generators on a dataset version's validation split (perplexity; BLEU and ROUGE where it has
        references), image generators by a sample grid and their diversity. Its id is in `object`."""
        serializer = EvaluationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evaluation = services.evaluation_submit(user=request.user, **serializer.validated_data)
        return job_started_response(evaluation.job, ("evaluation", evaluation.pk))


class EvaluationDetailApi(APIView):
    @extend_schema(responses=EvaluationSerializer)
    def get(self, request, pk):
        return Response(EvaluationSerializer(selectors.evaluation_get(user=request.user, pk=pk)).data)


class EvaluationGridApi(APIView):
    @extend_schema(responses={(200, "image/png"): bytes})
    def get(self, request, pk):
        """An image evaluation's grid of samples (PNG)."""
        evaluation = selectors.evaluation_get(user=request.user, pk=pk)
        if evaluation.grid is None:
            raise NotFound(gettext("This evaluation has no sample grid."))
        with file_open(file=evaluation.grid) as stream:
            data = stream.read()
        response = HttpResponse(data, content_type="image/png")
        response["Cache-Control"] = "private, max-age=86400, immutable"
        return response
