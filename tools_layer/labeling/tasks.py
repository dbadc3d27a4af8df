"""Labeling jobs: export (JSONL, CSV or a new dataset version) and pre-annotation by a generator."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext
from rest_framework import serializers

from aigc_platform.core.errors import NotFound
from aigc_platform.core.serializers import StrictSerializer
from infrastructure.compute.lifecycle import JobContext, job_task
from tools_layer.labeling import services
from tools_layer.labeling.models import LabelingProject


# Ids as strings: a job's params are stored as JSON.
class ExportParams(StrictSerializer):
    project = serializers.CharField(max_length=36)
    format = serializers.ChoiceField(choices=services.EXPORT_FORMATS)
    only_accepted = serializers.BooleanField(default=False)
    target_dataset = serializers.CharField(max_length=36, required=False, allow_null=True)


class PreannotateParams(StrictSerializer):
    project = serializers.CharField(max_length=36)
    version_id = serializers.IntegerField(min_value=1)
    max_tasks = serializers.IntegerField(min_value=1, max_value=services.PREANNOTATE_MAX_TASKS, default=200)
    api_key_prefix = serializers.CharField(max_length=16, required=False)


def _project(ctx: JobContext) -> LabelingProject:
    project = (
        LabelingProject.objects.filter(pk=ctx.params["project"]).select_related("dataset_version__dataset").first()
    )
    if project is None:
        raise NotFound(gettext("The labeling project was deleted before the job ran."))
    return project


@job_task(services.EXPORT_JOB_KIND, params=ExportParams, soft_time_limit=3600)
def labeling_export(ctx: JobContext) -> dict:
    owner = get_user_model().objects.get(pk=ctx.owner_id)
    return services.project_export_run(
        project=_project(ctx), owner=owner, options=ctx.params, job_id=ctx.job_id, progress=ctx.progress
    )


# On the inference queue: its worker holds the loaded models, and its engine batches the proposals.
@job_task(
    services.PREANNOTATE_JOB_KIND, params=PreannotateParams, soft_time_limit=3600, queue=settings.GENERATION_QUEUE
)
def labeling_preannotate(ctx: JobContext) -> dict:
    """A text generator proposes answers for the tasks without a proposal or an answer."""
    return services.project_preannotate_run(
        project=_project(ctx),
        version_id=ctx.params["version_id"],
        max_tasks=ctx.params["max_tasks"],
        owner_id=ctx.owner_id,
        api_key_prefix=ctx.params.get("api_key_prefix"),
        job_id=ctx.job_id,
        progress=ctx.progress,
    )
