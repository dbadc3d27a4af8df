"""Training jobs on real worker processes (PostgreSQL, Redis, object storage): metrics and samples as
events, checkpoints, cancel, retry and resume after a SIGKILL, DDP over two gloo processes, and the
trained model registered, validated, promoted and generating."""

import json

import pytest
from django.conf import settings

from infrastructure.compute import events
from infrastructure.compute import services as compute
from infrastructure.compute.broker import redis_client
from infrastructure.compute.models import Job, JobLog, JobStatus
from infrastructure.storage.selectors import file_open
from models_layer.registry.models import GeneratorVersion, Stage
from models_layer.registry.services import generation_submit
from tests import processes
from tests.processes import wait_for
from tests.tools_layer.training_data import image_version, text_version
from tools_layer.training import services
from tools_layer.training.models import TrainingMetric, TrainingRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

QUEUE = "training-test"
# One torch thread per job: the suite shares two cores, and oversubscribed threads slow training tenfold.
WORKER_ENV = {"AIGC_TRAINING_CPU_THREADS": "1"}
TINY_LM = {
    "vocab_size": 300,
    "context": 32,
    "batch_size": 8,
    "n_embd": 32,
    "n_layer": 1,
    "n_head": 2,
    "learning_rate": 1e-2,
    "warmup_steps": 2,
    "sample_tokens": 8,
}


@pytest.fixture(scope="module")
def training_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A worker for this module's jobs, their validation jobs (default queue) and generation (inference queue)."""
    with django_db_blocker.unblock():
        service = processes.start_worker(
            tmp_path_factory.mktemp("training-worker"),
            queues=f"{QUEUE},default,{settings.GENERATION_QUEUE}",
            concurrency=2,
            **WORKER_ENV,
        )
    yield service
    service.stop()


def wait_status(run: TrainingRun, wanted: str, timeout: float = 120) -> Job:
    def reached():
        job = Job.objects.get(pk=run.pk)
        if job.status == JobStatus.FAILED and wanted != JobStatus.FAILED:
            raise AssertionError(f"The job failed: {job.error}")
        return job if job.status == wanted else None

    return wait_for(reached, timeout=timeout, interval=0.2, what=f"the training job to be {wanted}")


def stream_events(run: TrainingRun, event_type: str) -> list[dict]:
    return [
        json.loads(entry[b"data"])
        for _, entry in redis_client().xrange(events.stream_key(run.pk))
        if entry[b"type"] == event_type.encode()
    ]


def metric_steps(run: TrainingRun) -> list[int]:
    return list(TrainingMetric.objects.filter(run=run).order_by("step").values_list("step", flat=True))


def test_a_text_model_trains_registers_and_generates_once_promoted(operator, client_for, training_worker):
    # Given a dataset version of real prose
    version = text_version(operator, count=16)
    client = client_for(operator)
    body = {
        "recipe": "lm-scratch",
        "dataset_version": str(version.pk),
        "generator": "pydoc-gpt",
        "hyperparameters": {**TINY_LM, "steps": 24, "eval_every": 4, "sample_every": 12, "checkpoint_every": 12},
    }
    # When an operator submits a training job over the API and a worker runs it
    created = client.post("/api/v1/training-jobs/", body, format="json")
    assert created.status_code == 202, created.json()
    run = TrainingRun.objects.get(pk=created.json()["id"])
    job = wait_status(run, JobStatus.SUCCEEDED)
    # Then its curve has one point per 4 steps, the loss fell, and the points were live events too
    series = client.get(f"/api/v1/training-jobs/{run.pk}/metrics/").json()["metrics"]
    assert [point["step"] for point in series] == [4, 8, 12, 16, 20, 24]
    assert series[-1]["values"]["loss"] < series[0]["values"]["loss"]
    assert {"loss", "val_loss", "lr", "tokens_per_second"} <= set(series[-1]["values"])
    assert [event["step"] for event in stream_events(run, "metrics")] == [4, 8, 12, 16, 20, 24]
    assert [event["step"] for event in stream_events(run, "sample")] == [12, 24]
    # and the last checkpoint is in object storage
    run.refresh_from_db()
    assert run.checkpoint_step == 24
    with file_open(file=run.checkpoint) as stream:
        assert len(stream.read()) == run.checkpoint.size > 0
    # and a new generator's first version holds the model, its lineage and its model card
    new = GeneratorVersion.objects.select_related("generator").get(pk=run.result_version_id)
    assert job.result["generator"] == "pydoc-gpt" and job.result["version"] == 1
    assert new.generator.kind == "text" and new.format == "hf" and new.training_job_id == run.pk
    assert new.dataset_version_ref == str(version.pk) and new.base_version is None and new.created_by == operator
    assert (
        "lm-scratch" in new.model_card
        and "## Hyperparameters" in new.model_card
        and "| n_embd | 32 |" in new.model_card
    )
    assert new.metrics["loss"] == pytest.approx(series[-1]["values"]["loss"])
    # When its validation job has run, the operator promotes it through staging to production
    wait_for(
        lambda: (
            GeneratorVersion.objects.get(pk=new.pk).stage == Stage.STAGING
            or Job.objects.get(pk=new.validation_job_id).status == JobStatus.FAILED
        ),
        timeout=90,
        interval=0.3,
        what="the new version's validation to end",
    )
    assert GeneratorVersion.objects.get(pk=new.pk).stage == Stage.STAGING, Job.objects.get(
        pk=new.validation_job_id
    ).error
    promoted = client.post("/api/v1/generators/pydoc-gpt/versions/1/promote/", {"stage": "production"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["stage"] == "production"
    # Then it generates at once, through the generation job
    generation = generation_submit(
        user=operator, generator="pydoc-gpt", params={"prompt": "The", "max_new_tokens": 8, "seed": 3}
    )
    done = wait_for(
        lambda: Job.objects.filter(pk=generation.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        timeout=90,
        interval=0.3,
        what="the generation",
    )
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.result["version"] == 1 and done.result["usage"]["completion_tokens"] >= 1 and done.result["text"]


def test_cancel_stops_within_a_step_keeps_the_checkpoint_and_retry_resumes(operator, client_for, training_worker):
    run = services.training_job_submit(
        user=operator,
        recipe="lm-scratch",
        dataset_version=text_version(operator, count=12).pk,
        queue=QUEUE,
        # Steps of some tens of milliseconds, so that "within a step" can be told apart from "soon"
        hyperparameters={
            **TINY_LM,
            "batch_size": 32,
            "context": 64,
            "n_embd": 64,
            "steps": 80,
            "eval_every": 1,
            "sample_every": 80,
            "checkpoint_every": 10,
        },
    )
    wait_for(
        lambda: TrainingRun.objects.get(pk=run.pk).checkpoint_step >= 10, timeout=90, interval=0.1, what="a checkpoint"
    )
    # When the operator cancels it mid-run
    assert client_for(operator).post(f"/api/v1/jobs/{run.pk}/cancel/").status_code == 200
    asked_at = max(metric_steps(run))
    wait_status(run, JobStatus.CANCELLED, timeout=30)
    # Then it stopped within a step or two of the request, and its last checkpoint is kept
    stopped_at = max(metric_steps(run))
    assert stopped_at - asked_at <= 2 and stopped_at < 80
    run.refresh_from_db()
    kept = run.checkpoint_step
    assert kept >= 10 and run.checkpoint is not None
    # When it is retried, it resumes from that checkpoint, as the same job, and finishes
    assert client_for(operator).post(f"/api/v1/jobs/{run.pk}/retry/").status_code == 202
    job = wait_status(run, JobStatus.SUCCEEDED)
    assert job.attempt == 2
    assert JobLog.objects.filter(
        job_id=run.pk, line=f"Attempt 2: resuming from the checkpoint at step {kept}."
    ).exists()
    assert metric_steps(run) == list(range(1, 81))
    resumed = TrainingMetric.objects.filter(run=run, attempt=2).order_by("step").values_list("step", flat=True)
    assert list(resumed) == list(range(kept + 1, 81))


def test_two_gloo_processes_train_one_model_with_ddp(operator, training_worker):
    run = services.training_job_submit(
        user=operator,
        recipe="lm-scratch",
        dataset_version=text_version(operator, count=12).pk,
        queue=QUEUE,
        hyperparameters={
            **TINY_LM,
            "steps": 12,
            "eval_every": 4,
            "sample_every": 12,
            "checkpoint_every": 6,
            "cpu_processes": 2,
        },
    )
    assert run.processes == 2
    job = wait_status(run, JobStatus.SUCCEEDED, timeout=150)
    assert JobLog.objects.filter(job_id=run.pk, line="Starting 2 DDP processes (gloo).").exists()
    points = list(TrainingMetric.objects.filter(run=run).order_by("step"))
    assert [point.step for point in points] == [4, 8, 12]
    assert points[-1].values["loss"] < points[0].values["loss"]
    assert stream_events(run, "sample")[0]["step"] == 12
    run.refresh_from_db()
    assert run.checkpoint_step == 12 and job.result["version"] == 1
    assert GeneratorVersion.objects.get(pk=run.result_version_id).format == "hf"


def test_an_image_generator_trains_and_its_version_draws_digits(operator, training_worker):
    run = services.training_job_submit(
        user=operator,
        recipe="vae",
        dataset_version=image_version(operator, count=200).pk,
        queue=QUEUE,
        hyperparameters={"steps": 40, "eval_every": 10, "sample_every": 20, "checkpoint_every": 20, "batch_size": 32},
    )
    job = wait_status(run, JobStatus.SUCCEEDED)
    points = list(TrainingMetric.objects.filter(run=run).order_by("step"))
    assert points[-1].values["val_loss"] < points[0].values["val_loss"]
    assert all(event["image"].startswith("data:image/png;base64,") for event in stream_events(run, "sample"))
    run.refresh_from_db()
    version = GeneratorVersion.objects.select_related("generator").get(pk=run.result_version_id)
    assert version.generator.kind == "image" and version.generator.backend == "torch" and version.format == "torch"
    # Its validation job loads it through the runtime's torch backend and draws a digit
    wait_for(
        lambda: GeneratorVersion.objects.get(pk=version.pk).stage == Stage.STAGING,
        timeout=60,
        interval=0.3,
        what="the image version to pass validation",
    )
    validation = Job.objects.get(pk=job.result["validation_job"])
    assert validation.result["sample_image"]["width"] == 8


def test_a_worker_killed_mid_run_the_job_resumes_from_its_checkpoint(operator, start_worker):
    # Given a training job running on a worker
    first = start_worker(queues="training-kill", concurrency=1, **WORKER_ENV)
    run = services.training_job_submit(
        user=operator,
        recipe="lm-scratch",
        dataset_version=text_version(operator, count=12).pk,
        queue="training-kill",
        hyperparameters={
            **TINY_LM,
            "batch_size": 32,
            "context": 64,
            "n_embd": 64,
            "steps": 60,
            "eval_every": 5,
            "sample_every": 60,
            "checkpoint_every": 10,
        },
    )
    wait_for(
        lambda: TrainingRun.objects.get(pk=run.pk).checkpoint_step >= 10,
        timeout=90,
        interval=0.05,
        what="the first checkpoint",
    )
    # When the worker is killed with SIGKILL, another one starts, and the registry's sweep (what the
    # periodic scheduler runs) finds the job's lease lapsed
    first.kill()
    start_worker(queues="training-kill", concurrency=1, **WORKER_ENV)
    wait_for(
        lambda: compute.jobs_requeue_stale(lease_seconds=3)["requeued"], timeout=30, interval=0.5, what="the re-queue"
    )
    job = wait_status(run, JobStatus.SUCCEEDED, timeout=150)
    # Then the same job finished on its second attempt, from the checkpoint
    run.refresh_from_db()
    assert job.attempt == 2
    resumed_line = JobLog.objects.filter(
        job_id=run.pk, line__startswith="Attempt 2: resuming from the checkpoint at step"
    ).first()
    assert resumed_line is not None
    resumed_from = int(resumed_line.line.rsplit(" ", 1)[-1].rstrip("."))
    assert 10 <= resumed_from < 60 and resumed_from % 10 == 0
    # and its curve is one curve: every fifth step exactly once, the first attempt's up to the checkpoint
    points = list(TrainingMetric.objects.filter(run=run).order_by("step"))
    assert [p.step for p in points] == list(range(5, 61, 5))
    assert all(p.attempt == (1 if p.step <= resumed_from else 2) for p in points)
    # and the loss continued where it was, rather than starting again from an untrained model's
    after = next(p for p in points if p.step > resumed_from)
    before = [p for p in points if p.step <= resumed_from][-1]
    assert after.values["loss"] < points[0].values["loss"]
    assert (
        abs(after.values["loss"] - before.values["loss"])
        < 0.5 * (points[0].values["loss"] - before.values["loss"]) + 0.3
    )
