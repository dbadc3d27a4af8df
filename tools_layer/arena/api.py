"""Comparisons API: start a blind comparison (operators and admins; a Job), list one's comparisons,
one comparison with its results (ratings, intervals, win rates, judgements), and the prompt sources."""

from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.permissions import IsOperatorToWrite
from infrastructure.compute.serializers import JobStartedSerializer, job_started_response
from tools_layer.arena import selectors, services
from tools_layer.arena.serializers import (
    ComparisonCreateSerializer,
    ComparisonDetailSerializer,
    ComparisonSerializer,
    PromptSourceSerializer,
)


class ComparisonListApi(ListAPIView):
    serializer_class = ComparisonSerializer
    permission_classes = [IsOperatorToWrite]

    def get_queryset(self):
        return selectors.comparisons_visible_to(user=self.request.user)

    def get(self, request, *args, **kwargs):
        """Your comparisons (everyone's for staff), newest first."""
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ComparisonCreateSerializer, responses={202: JobStartedSerializer})
    def post(self, request):
        """Compare two or more text generator versions blind: a Job (followed at
        /api/v1/jobs/{job}/events/) answers each prompt with each version, then makes a pairwise
        labelling project whose tasks show two answers as A and B in random order, without versions.
        The comparison's id is in `object`; its results are at /api/v1/comparisons/{id}/."""
        serializer = ComparisonCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comparison = services.comparison_submit(user=request.user, **serializer.validated_data)
        return job_started_response(comparison.job, ("comparison", comparison.pk))


class ComparisonDetailApi(APIView):
    @extend_schema(responses=ComparisonDetailSerializer)
    def get(self, request, pk):
        """The comparison, its labelling project, and its results so far: each version's Bradley–Terry
        rating (Elo scale) with a 95% bootstrap interval and its judgements, and each pair's win rates."""
        comparison = selectors.comparison_get(user=request.user, pk=pk)
        results = selectors.comparison_results(comparison=comparison)
        return Response(ComparisonDetailSerializer(comparison, context={"results": results}).data)


class PromptSourcesApi(APIView):
    @extend_schema(responses=PromptSourceSerializer(many=True))
    def get(self, request):
        """Where a comparison's prompts may come from: "dataset", and the applications that offer their
        recent requests."""
        return Response(
            [{"key": source.key, "label": str(source.label)} for source in selectors.arena_prompt_sources()]
        )
