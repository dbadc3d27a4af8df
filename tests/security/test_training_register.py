"""Issue 21, finding 7 (training registration), as two attacks on `training_version_register`:
- an attempt that lost its lease (the sweep gave the job to another attempt) finishes anyway and
  registers: the model must be registered once, by the attempt that holds the job;
- an operator names a generator slug that is free when the run is submitted, and that another user's
  public generator takes before the run ends: the trained model must not become a version of it.
The export is a real (small) checkpoint file; what is tested is who may register it, and how often."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from aigc_platform.core.errors import PermissionDenied
from infrastructure.compute import services as compute
from infrastructure.compute.lifecycle import JobLost
from infrastructure.compute.models import Job
from models_layer.registry.models import Generator, GeneratorVersion, Visibility
from models_layer.registry.services import generator_create
from tests.tools_layer.training_data import text_version
from tools_layer.training import services
from tools_layer.training.recipes.base import Export

pytestmark = pytest.mark.django_db

TINY_LM = {"vocab_size": 300, "context": 32, "batch_size": 8, "n_embd": 32, "n_layer": 1, "n_head": 2, "steps": 4}


def an_export(tmp_path) -> Export:
    """A zipped Hugging Face checkpoint folder, as the lm-scratch recipe exports one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model/config.json", '{"model_type": "gpt2", "n_layer": 1}')
    path = tmp_path / "export.zip"
    path.write_bytes(buffer.getvalue())
    return Export(path=path, format="hf", parameters={"chat": False})


def submitted(operator, slug):
    return services.training_job_submit(
        user=operator,
        recipe="lm-scratch",
        dataset_version=text_version(operator, count=6).pk,
        hyperparameters=TINY_LM,
        generator=slug,
    )


def test_an_attempt_that_lost_its_lease_does_not_register_the_model(operator, tmp_path):
    run = submitted(operator, "nightly-lm")
    # Given attempt 1 ran the job, went silent, and the sweep gave the job to attempt 2.
    first = compute.job_claim(job_id=run.job_id, worker="worker-1")
    Job.objects.filter(pk=run.job_id).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert compute.jobs_requeue_stale(lease_seconds=60)["requeued"] == 1
    second = compute.job_claim(job_id=run.job_id, worker="worker-2")
    assert (first.attempt, second.attempt) == (1, 2)

    # When attempt 1 finishes its training anyway and registers, it is stopped.
    with pytest.raises(JobLost):
        services.training_version_register(run=run, export=an_export(tmp_path), attempt=first.attempt)
    assert not GeneratorVersion.objects.filter(generator__slug="nightly-lm").exists()

    # Then attempt 2 registers the model once, also if its registration runs twice (a redelivery).
    registered = services.training_version_register(run=run, export=an_export(tmp_path), attempt=second.attempt)
    again = services.training_version_register(run=run, export=an_export(tmp_path), attempt=second.attempt)
    assert again.pk == registered.pk
    assert GeneratorVersion.objects.filter(generator__slug="nightly-lm").count() == 1


def test_a_run_does_not_add_a_version_to_a_generator_its_owner_may_not_manage(operator, make_user, tmp_path):
    # Given Mallory's run names a free slug, and Alice's public generator takes that slug meanwhile.
    run = submitted(operator, "team-writer")
    alice = make_user("operator", username="alice")
    theirs = generator_create(
        owner=alice, slug="team-writer", name="Team writer", kind="text", visibility=Visibility.PUBLIC
    )
    attempt = compute.job_claim(job_id=run.job_id, worker="worker-1").attempt

    # When the run ends and registers, it is refused, and Alice's generator gets no version.
    with pytest.raises(PermissionDenied):
        services.training_version_register(run=run, export=an_export(tmp_path), attempt=attempt)
    assert not theirs.versions.exists()
    assert Generator.objects.get(slug="team-writer").owner == alice
