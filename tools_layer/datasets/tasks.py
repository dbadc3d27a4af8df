"""Dataset jobs: the import of an uploaded file (JSONL, CSV or a ZIP of images), a run of preparation
steps on a version, and the preview of one step."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext

from aigc_platform.core.errors import NotFound
from infrastructure.compute.lifecycle import JobContext, job_task
from infrastructure.storage.selectors import file_get
from tools_layer.datasets import services
from tools_layer.datasets.models import Dataset, DatasetVersion
from tools_layer.datasets.serializers import DatasetImportParams, DatasetPrepareParams


@job_task(services.IMPORT_JOB_KIND, params=DatasetImportParams, soft_time_limit=2 * 3600)
def dataset_import(ctx: JobContext) -> dict:
    owner = get_user_model().objects.get(pk=ctx.owner_id)
    dataset = Dataset.objects.filter(pk=ctx.params["dataset"]).first()
    if dataset is None:
        raise NotFound(gettext("The dataset was deleted before its import ran."))
    file = file_get(user=owner, pk=ctx.params["file"])
    return services.dataset_import_file(
        dataset=dataset, file=file, options=ctx.params, owner=dataset.owner, job_id=ctx.job_id, progress=ctx.progress
    )


def _version(ctx: JobContext) -> DatasetVersion:
    version = (
        DatasetVersion.objects.select_related("dataset", "dataset__owner").filter(pk=ctx.params["version"]).first()
    )
    if version is None:
        raise NotFound(gettext("The dataset version was deleted before the job ran."))
    return version


@job_task(services.PREPARE_JOB_KIND, params=DatasetPrepareParams, soft_time_limit=4 * 3600)
def dataset_prepare(ctx: JobContext) -> dict:
    owner = get_user_model().objects.get(pk=ctx.owner_id)
    return services.dataset_prepare_run(
        version=_version(ctx), steps=ctx.params["steps"], user=owner, job_id=ctx.job_id, ctx=ctx, progress=ctx.progress
    )


@job_task(services.PREVIEW_JOB_KIND, params=DatasetPrepareParams, soft_time_limit=600)
def dataset_prepare_preview(ctx: JobContext) -> dict:
    owner = get_user_model().objects.get(pk=ctx.owner_id)
    return services.dataset_prepare_preview(version=_version(ctx), step=ctx.params["steps"][0], user=owner, ctx=ctx)
