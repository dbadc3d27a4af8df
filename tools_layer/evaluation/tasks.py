"""The evaluation job: re-fetch the evaluation and run it (progress and cancel checks between items)."""

from django.utils.translation import gettext

from aigc_platform.core.errors import NotFound
from infrastructure.compute.lifecycle import JobContext, job_task
from tools_layer.evaluation import services
from tools_layer.evaluation.models import Evaluation
from tools_layer.evaluation.serializers import EvaluationJobParams


@job_task(services.EVALUATION_JOB_KIND, params=EvaluationJobParams, soft_time_limit=4 * 3600)
def evaluate(ctx: JobContext) -> dict:
    evaluation = (
        Evaluation.objects.select_related("owner", "dataset_version__dataset")
        .filter(pk=ctx.params["evaluation"])
        .first()
    )
    if evaluation is None:
        raise NotFound(gettext("The evaluation was deleted before its job ran."))
    return services.evaluation_run(evaluation=evaluation, progress=ctx.progress)
