"""The moderation job kind: `moderation-classify`, a classifier policy's label of an input, asked from
the web process and answered on the generation queue, where the runtime and its models live."""

from django.conf import settings
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from infrastructure.compute.lifecycle import JobContext, job_task
from models_layer.moderation import services
from models_layer.moderation.classifier import TEXT_MAX_CHARS


class ClassifyJobParams(StrictSerializer):
    policy = serializers.IntegerField(min_value=1)
    text = serializers.CharField(max_length=TEXT_MAX_CHARS, allow_blank=True, trim_whitespace=False)


@job_task(services.CLASSIFY_JOB_KIND, params=ClassifyJobParams, soft_time_limit=300, queue=settings.GENERATION_QUEUE)
def classify(ctx: JobContext) -> dict:
    return services.moderation_classify(policy_id=ctx.params["policy"], text=ctx.params["text"])
