"""Issue 21, finding 7 (dataset creation), as the attack: creating datasets is operators' work (the
whole datasets API answers creators 403), but a creator who owns a labeling project (here an operator
who made it and was then moved to the creator role) could make one by exporting the labels as a
dataset. Now the export is refused at submit, and a job queued before the change refuses to run."""

import io
import json

import pytest

from aigc_platform.accounts.roles import role_groups
from aigc_platform.core.errors import PermissionDenied
from infrastructure.compute.models import Job
from infrastructure.storage.services import file_store
from tools_layer.datasets import services as dataset_services
from tools_layer.datasets.models import Dataset
from tools_layer.labeling import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def carls_project(make_user, client_for):
    """Carl, an operator, makes a labeling project and answers its tasks; then he becomes a creator."""
    carl = make_user("operator", username="carl")
    dataset = dataset_services.dataset_create(owner=carl, name="reviews", kind="text")
    data = "\n".join(json.dumps({"text": t}) for t in ("great", "awful")).encode()
    dataset_services.dataset_import_file(
        dataset=dataset,
        file=file_store(owner=carl, stream=io.BytesIO(data), filename="r.jsonl"),
        options={},
        owner=carl,
    )
    version = dataset_services.dataset_version_create(dataset=dataset, user=carl, validation_fraction=0)
    project = services.project_create(
        owner=carl, name="sentiment", task_type="single_label", labels=["pos", "neg"], dataset_version=version
    )
    for task in project.tasks.all():
        services.annotation_submit(task=task, user=carl, value={"label": "pos"})
    carl.groups.set([role_groups()["creator"]])
    return carl, project


def test_a_creator_cannot_create_a_dataset_by_exporting_labels(carls_project, client_for):
    carl, project = carls_project
    datasets, jobs = Dataset.objects.count(), Job.objects.count()
    assert (
        client_for(carl).post("/api/v1/datasets/", {"name": "mine", "kind": "text"}, format="json").status_code == 403
    )

    # When Carl exports his project's labels as a new dataset (or into his old one).
    for body in (
        {"format": "dataset"},
        {"format": "dataset", "target_dataset": str(project.dataset_version.dataset_id)},
    ):
        response = client_for(carl).post(f"/api/v1/labeling/projects/{project.pk}/export/", body, format="json")
        # Then it is the datasets API's answer: 403, no job, no dataset.
        assert response.status_code == 403, response.content
    assert (Dataset.objects.count(), Job.objects.count()) == (datasets, jobs)
    # The labels themselves are still his to export as a file.
    assert (
        client_for(carl)
        .post(f"/api/v1/labeling/projects/{project.pk}/export/", {"format": "jsonl"}, format="json")
        .status_code
        == 202
    )


def test_an_export_job_queued_before_the_role_changed_makes_no_dataset(carls_project):
    carl, project = carls_project
    datasets = Dataset.objects.count()
    with pytest.raises(PermissionDenied):
        services.project_export_run(project=project, owner=carl, options={"format": "dataset", "only_accepted": False})
    assert Dataset.objects.count() == datasets
