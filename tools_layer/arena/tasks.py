"""The comparison job: re-fetch the comparison and run it (answers, then the labelling project)."""

from aigc_platform.core.errors import NotFound
from infrastructure.compute.lifecycle import JobContext, job_task
from tools_layer.arena import services
from tools_layer.arena.models import Comparison
from tools_layer.arena.serializers import ComparisonJobParams


@job_task(services.COMPARISON_JOB_KIND, params=ComparisonJobParams, soft_time_limit=4 * 3600)
def comparison_generate(ctx: JobContext) -> dict:
    comparison = Comparison.objects.select_related("owner").filter(pk=ctx.params["comparison"]).first()
    if comparison is None:
        raise NotFound("The comparison was deleted before its job ran.")
    return services.comparison_run(comparison=comparison, progress=ctx.progress)
