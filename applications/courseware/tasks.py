"""Courseware's job kinds: write a lesson, or one of its slides again, with the text generator in this worker."""

from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from applications.courseware import services
from infrastructure.compute.lifecycle import JobContext, job_task


class GenerateParams(StrictSerializer):
    lesson_id = serializers.IntegerField()
    version_id = serializers.IntegerField()
    seed = serializers.IntegerField(min_value=0)
    # The API key the request came with: the job's tokens count for it too (runtime.generate_text).
    api_key_prefix = serializers.CharField(max_length=16, required=False)


class RegenerateItemParams(GenerateParams):
    index = serializers.IntegerField(min_value=0)


@job_task(services.JOB_KIND, params=GenerateParams, soft_time_limit=3600)
def generate(ctx: JobContext) -> dict:
    """Streams `token` events ({text, section, index, attempt}) and a `section` event per finished item."""
    return services.lesson_run(
        lesson_id=ctx.params["lesson_id"], version_id=ctx.params["version_id"], seed=ctx.params["seed"], ctx=ctx
    )


@job_task(services.REGENERATE_SLIDE_KIND, params=RegenerateItemParams, soft_time_limit=600)
def regenerate_slide(ctx: JobContext) -> dict:
    return services.slide_regenerate_run(
        lesson_id=ctx.params["lesson_id"],
        index=ctx.params["index"],
        version_id=ctx.params["version_id"],
        seed=ctx.params["seed"],
        ctx=ctx,
    )


@job_task(services.REGENERATE_QUESTION_KIND, params=RegenerateItemParams, soft_time_limit=600)
def regenerate_question(ctx: JobContext) -> dict:
    return services.question_regenerate_run(
        lesson_id=ctx.params["lesson_id"],
        index=ctx.params["index"],
        version_id=ctx.params["version_id"],
        seed=ctx.params["seed"],
        ctx=ctx,
    )
