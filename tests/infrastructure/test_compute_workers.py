"""The worker registry with real worker processes: registration, heartbeat, routing, drain, access."""

import os

import pytest

from infrastructure.compute import selectors, services
from infrastructure.compute.models import Job, JobStatus, Worker, WorkerStatus
from tests.processes import wait_for

GPU_80G = {
    "index": 0,
    "name": "NVIDIA H100 80GB HBM3",
    "total_mb": 81559,
    "free_mb": 80000,
    "utilization": 0,
    "compute_capability": "9.0",
}
GPU_24G = {
    "index": 0,
    "name": "NVIDIA L4",
    "total_mb": 23034,
    "free_mb": 22000,
    "utilization": 5,
    "compute_capability": "8.9",
}


def register(name: str, gpus: list[dict]) -> Worker:
    """A worker as a GPU machine registers itself (its inventory is what gpus.machine_inventory reports there)."""
    return services.worker_register(
        name=name,
        hostname=name.split("@")[-1],
        queues=["default", f"worker.{name}"],
        own_queue=f"worker.{name}",
        concurrency=1,
        pid=1,
        inventory={"cpu_count": 16, "ram_mb": 131072, "gpus": gpus},
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_registers_its_machine_and_heartbeats(start_worker):
    service = start_worker(queues="registry-q", concurrency=1)
    worker = wait_for(lambda: Worker.objects.filter(name__startswith=service.name).first(), what="registration")
    assert worker.status == WorkerStatus.ONLINE
    assert worker.cpu_count == os.cpu_count() and worker.ram_mb > 1000
    assert worker.gpus == []  # this machine has no GPU
    assert set(worker.queues) == {"registry-q", worker.own_queue} and worker.own_queue == f"worker.{worker.name}"
    first_beat = worker.last_heartbeat_at
    wait_for(lambda: Worker.objects.get(pk=worker.pk).last_heartbeat_at > first_beat, what="a heartbeat")
    # When it stops cleanly it signs off
    service.stop()
    assert Worker.objects.get(pk=worker.pk).status == WorkerStatus.OFFLINE


@pytest.mark.django_db
def test_gpu_jobs_go_to_a_worker_whose_gpus_can_hold_them(creator):
    small, big = register("small@gpu1", [GPU_24G]), register("big@gpu2", [GPU_80G])
    job = services.job_submit(owner=creator, kind="echo", params={}, gpus=1, min_gpu_memory_mb=40_000)
    assert Job.objects.get(pk=job.pk).queue == big.own_queue
    job = services.job_submit(owner=creator, kind="echo", params={}, gpus=1, min_gpu_memory_mb=8_000)
    assert Job.objects.get(pk=job.pk).queue in {small.own_queue, big.own_queue}


@pytest.mark.django_db
def test_a_job_no_worker_can_hold_waits_with_a_reason_and_is_routed_when_one_comes(creator, client_for):
    register("single@gpu1", [GPU_80G])
    job = services.job_submit(owner=creator, kind="echo", params={}, gpus=2, min_gpu_memory_mb=1_000)
    shown = client_for(creator).get(f"/api/v1/jobs/{job.id}/").json()
    assert shown["status"] == "queued" and shown["queue"] == ""
    assert (
        shown["message"]
        == "Waiting: no online worker has 2 GPU(s) with at least 1000 MB each; the closest, single@gpu1, has 1 such GPU(s) of 1."
    )
    # When a machine with two GPUs registers, the periodic sweep routes the job to it
    double = register("double@gpu3", [GPU_80G, dict(GPU_80G, index=1)])
    assert services.jobs_route_waiting() == 1
    assert Job.objects.get(pk=job.pk).queue == double.own_queue


@pytest.mark.django_db
def test_a_silent_worker_goes_offline_and_its_jobs_are_routed_again(creator):
    from datetime import timedelta

    from django.utils import timezone

    worker = register("silent@gpu1", [GPU_80G])
    running = services.job_submit(owner=creator, kind="echo", params={}, gpus=1)
    services.job_claim(job_id=running.id, worker=worker.name)
    waiting = services.job_submit(owner=creator, kind="echo", params={}, gpus=1)
    Worker.objects.filter(pk=worker.pk).update(last_heartbeat_at=timezone.now() - timedelta(seconds=60))
    counts = services.workers_mark_offline(timeout_seconds=10)
    assert counts["offline"] == 1 and counts["requeued"] == 1 and counts["rerouted"] == 1
    for job in (running, waiting):
        job.refresh_from_db()
        assert job.status == JobStatus.QUEUED and job.queue == ""
        # Other workers of the test run may be online, but none has a GPU: the job waits, saying why.
        assert job.message.startswith("Waiting") and "silent@gpu1" not in job.message


@pytest.mark.django_db(transaction=True)
def test_drain_lets_the_running_job_finish_and_takes_no_new_one(creator, operator, client_for, start_worker):
    service = start_worker(queues="drain-q", concurrency=1)
    worker = wait_for(lambda: Worker.objects.filter(name__startswith=service.name).first(), what="registration")
    first = services.job_submit(owner=creator, kind="echo", params={"steps": 8, "delay": 0.25}, queue="drain-q")
    wait_for(lambda: Job.objects.get(pk=first.pk).status == JobStatus.RUNNING, what="the first job to start")
    drained = client_for(operator).post(f"/api/v1/workers/{worker.id}/drain/")
    assert drained.status_code == 200 and drained.json()["status"] == "draining"
    second = services.job_submit(owner=creator, kind="echo", params={"steps": 1, "delay": 0}, queue="drain-q")
    wait_for(lambda: Job.objects.get(pk=first.pk).status == JobStatus.SUCCEEDED, what="the running job to finish")
    assert Job.objects.get(pk=second.pk).status == JobStatus.QUEUED
    assert client_for(operator).get("/api/v1/queues/").json()["queues"]["drain-q"] == 1
    # When the operator resumes it, the waiting job runs
    assert client_for(operator).post(f"/api/v1/workers/{worker.id}/resume/").json()["status"] == "online"
    wait_for(lambda: Job.objects.get(pk=second.pk).status == JobStatus.SUCCEEDED, what="the waiting job to run")


@pytest.mark.django_db
def test_only_operators_and_admins_see_workers(creator, operator, admin_user, client_for, client, password):
    register("any@gpu1", [GPU_80G])
    assert client_for(creator).get("/api/v1/workers/").status_code == 403
    assert client_for(creator).get("/api/v1/queues/").status_code == 403
    assert client_for(operator).get("/api/v1/workers/").json()["results"][0]["gpus"] == [GPU_80G]
    assert client_for(admin_user).get("/api/v1/workers/").status_code == 200
    client.login(username=creator.username, password=password)
    assert client.get("/workers/").status_code == 403
    client.login(username=operator.username, password=password)
    assert client.get("/workers/").status_code == 200


@pytest.mark.django_db
def test_drain_of_an_offline_worker_is_a_conflict(operator, client_for):
    worker = register("gone@gpu1", [])
    services.worker_deregister(name=worker.name)
    assert client_for(operator).post(f"/api/v1/workers/{worker.id}/drain/").status_code == 409
    assert client_for(operator).post("/api/v1/workers/999999/drain/").status_code == 404
    assert not selectors.workers_online().filter(pk=worker.pk).exists()
