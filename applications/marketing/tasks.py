"""Marketing's job kind: write a generation's variants with the text generator, in this worker."""
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from applications.marketing import services
from infrastructure.compute.lifecycle import JobContext, job_task


class GenerateParams(StrictSerializer):
    generation_id = serializers.CharField()
    version_id = serializers.IntegerField()
    seed = serializers.IntegerField(min_value=0)


@job_task(services.JOB_KIND, params=GenerateParams, soft_time_limit=1800)
def generate(ctx: JobContext) -> dict:
    """Streams `token` events ({text, section, variant, attempt}) and a `variant` event per finished variant."""
    return services.generation_run(generation_id=ctx.params["generation_id"], version_id=ctx.params["version_id"],
                                   seed=ctx.params["seed"], ctx=ctx)
