"""Dataset jobs: the import of an uploaded file (JSONL, CSV or a ZIP of images)."""
from django.contrib.auth import get_user_model

from aigc_platform.core.errors import NotFound
from infrastructure.compute.lifecycle import JobContext, job_task
from infrastructure.storage.selectors import file_get
from tools_layer.datasets import services
from tools_layer.datasets.models import Dataset
from tools_layer.datasets.serializers import DatasetImportParams


@job_task(services.IMPORT_JOB_KIND, params=DatasetImportParams, soft_time_limit=2 * 3600)
def dataset_import(ctx: JobContext) -> dict:
    owner = get_user_model().objects.get(pk=ctx.owner_id)
    dataset = Dataset.objects.filter(pk=ctx.params["dataset"]).first()
    if dataset is None:
        raise NotFound("The dataset was deleted before its import ran.")
    file = file_get(user=owner, pk=ctx.params["file"])
    return services.dataset_import_file(
        dataset=dataset, file=file, options=ctx.params, owner=dataset.owner, job_id=ctx.job_id, progress=ctx.progress
    )
