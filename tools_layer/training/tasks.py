"""The `training` job kind: thin; the run lives in services.training_run_execute."""

from infrastructure.compute.lifecycle import JobContext, job_task
from tools_layer.training import services
from tools_layer.training.serializers import TrainingJobParams


@job_task(services.TRAINING_JOB_KIND, params=TrainingJobParams, soft_time_limit=48 * 3600)
def training(ctx: JobContext) -> dict:
    """Trains (resuming from the last checkpoint on a later attempt), emitting `metrics` and `sample` events."""
    return services.training_run_execute(ctx=ctx)
