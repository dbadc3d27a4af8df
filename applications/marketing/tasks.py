"""Marketing's job kind: write a generation's variants with the text generator, in this worker."""

from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from applications.marketing import services
from infrastructure.compute.lifecycle import JobContext, job_task


class GenerateParams(StrictSerializer):
    generation_id = serializers.CharField()
    version_id = serializers.IntegerField()
    seed = serializers.IntegerField(min_value=0)
    # The API key the request came with: the job's tokens count for it too (runtime.generate_text).
    api_key_prefix = serializers.CharField(max_length=16, required=False)


@job_task(services.JOB_KIND, params=GenerateParams, soft_time_limit=1800)
def generate(ctx: JobContext) -> dict:
    """Streams `token` events ({text, section, variant, attempt}) and a `variant` event per finished variant."""
    return services.generation_run(
        generation_id=ctx.params["generation_id"], version_id=ctx.params["version_id"], seed=ctx.params["seed"], ctx=ctx
    )


class RegenerateVariantParams(StrictSerializer):
    variant_id = serializers.IntegerField()
    version_id = serializers.IntegerField()
    seed = serializers.IntegerField(min_value=0)
    api_key_prefix = serializers.CharField(max_length=16, required=False)


@job_task(services.REGENERATE_VARIANT_KIND, params=RegenerateVariantParams, soft_time_limit=600)
def regenerate_variant(ctx: JobContext) -> dict:
    """Streams `token` and `attempt` events for the one variant, then its `variant` event."""
    return services.variant_regenerate_run(
        variant_id=ctx.params["variant_id"], version_id=ctx.params["version_id"], seed=ctx.params["seed"], ctx=ctx
    )
