"""Training API: submit a run (→ a `training` Job), list and read runs, their metric series, and the recipes."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.permissions import IsOperator
from aigc_platform.core.errors import ApplicationError
from infrastructure.compute.serializers import JobStartedSerializer, job_started_response
from tools_layer.training import recipes_info, selectors, services
from tools_layer.training.serializers import (
    RecipeSerializer,
    TrainingJobSubmitSerializer,
    TrainingMetricSerializer,
    TrainingMetricsSerializer,
    TrainingRunSerializer,
)


class TrainingJobListApi(ListAPIView):
    serializer_class = TrainingRunSerializer
    permission_classes = [IsOperator]

    def get_queryset(self):
        runs = selectors.training_runs_visible_to(user=self.request.user)
        if recipe := self.request.query_params.get("recipe"):
            if recipe not in services.RECIPE_KINDS:
                raise ApplicationError(
                    gettext("Unknown recipe %(recipe)r.") % {"recipe": recipe},
                    fields={"recipe": [gettext("One of %(names)s.") % {"names": ", ".join(services.RECIPE_KINDS)}]},
                )
            runs = runs.filter(recipe=recipe)
        return runs

    @extend_schema(parameters=[OpenApiParameter("recipe", str, enum=list(services.RECIPE_KINDS))])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=TrainingJobSubmitSerializer, responses={202: JobStartedSerializer})
    def post(self, request):
        """Queue a training job. Its id is the Job's: follow it at /api/v1/jobs/{id}/events/ (`metrics`
        and `sample` events as it trains), read the run at /api/v1/training-jobs/{id}/. On success its result
        names the new generator version."""
        serializer = TrainingJobSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        resources = data.get("resources") or {}
        run = services.training_job_submit(
            user=request.user,
            recipe=data["recipe"],
            dataset_version=data["dataset_version"],
            labeling_project=data["labeling_project"],
            label_filter=data["label_filter"],
            hyperparameters=data["hyperparameters"],
            base_generator=data["base_generator"],
            generator=data["generator"],
            gpus=resources.get("gpus", 0),
            min_gpu_memory_mb=resources.get("min_gpu_memory_mb", 0),
            licence_override=data["licence_override"],
            request=request,
        )
        return job_started_response(run.job, ("training_run", run.pk))


class TrainingJobDetailApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=TrainingRunSerializer)
    def get(self, request, pk):
        return Response(TrainingRunSerializer(selectors.training_run_get(user=request.user, pk=pk)).data)


class TrainingJobMetricsApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=TrainingMetricsSerializer)
    def get(self, request, pk):
        """The run's metric series, one point per reported step (loss, val_loss, lr, throughput, …)."""
        run = selectors.training_run_get(user=request.user, pk=pk)
        metrics = TrainingMetricSerializer(selectors.training_metrics(run=run), many=True).data
        return Response(
            {
                "id": run.pk,
                "recipe": run.recipe,
                "status": run.job.status,
                "total_steps": run.total_steps,
                "metrics": metrics,
            }
        )


class TrainingRecipeListApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=RecipeSerializer(many=True))
    def get(self, request):
        """Every recipe, and its hyperparameters with their defaults, limits and help."""
        return Response(recipes_info.recipes())
