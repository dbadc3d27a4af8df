"""The Job lifecycle end to end with real Celery worker processes, PostgreSQL and Redis."""

import json

import pytest
import requests
from rest_framework.authtoken.models import Token

from infrastructure.compute import events, services
from infrastructure.compute.broker import redis_client
from infrastructure.compute.models import Job, JobStatus, Worker, WorkerStatus
from tests.processes import start_scheduler, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def submit_echo(owner, queue="default", **params) -> Job:
    return services.job_submit(
        owner=owner, kind="echo", params={"message": "hi", "steps": 3, "delay": 0.1, **params}, queue=queue
    )


def job_status(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def read_events(url: str, token: str, *, timeout: float = 30) -> list[tuple[str, dict]]:
    """Every server-sent event of a job's stream until the server ends it."""
    received, event_type = [], None
    with requests.get(url, headers={"Authorization": f"Token {token}"}, stream=True, timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event_type = line.removeprefix("event: ")
            elif line.startswith("data: "):
                received.append((event_type, json.loads(line.removeprefix("data: "))))
    return received


def test_echo_job_runs_on_a_worker_and_streams_its_progress(creator, worker, web):
    # Given a creator's token and an echo job submitted over HTTP to the ASGI server
    token = Token.objects.create(user=creator).key
    headers = {"Authorization": f"Token {token}"}
    body = {"kind": "echo", "params": {"message": "from the test", "steps": 4, "delay": 0.2}}
    job = requests.post(f"{web}/api/v1/jobs/", json=body, headers=headers, timeout=10).json()
    assert job["status"] == "queued"
    # When the creator follows its events
    received = read_events(f"{web}/api/v1/jobs/{job['id']}/events/", token)
    # Then they saw a snapshot, progress up to 1, the log lines, and the end
    types = [event_type for event_type, _ in received]
    assert types[0] == "snapshot"
    # (the start's status event went out before the first step's progress: the job's first batch of events)
    assert [data["status"] for event_type, data in received if event_type == "status"] == ["running", "succeeded"]
    assert types.index("status") < types.index("progress")
    assert [data["progress"] for event_type, data in received if event_type == "progress"] == [0.25, 0.5, 0.75, 1.0]
    assert [data["line"] for event_type, data in received if event_type == "log"] == [
        f"step {n} of 4" for n in range(1, 5)
    ]
    assert received[-1] == ("status", received[-1][1]) and received[-1][1]["status"] == "succeeded"
    # and the job holds its result
    done = requests.get(f"{web}/api/v1/jobs/{job['id']}/", headers=headers, timeout=10).json()
    assert done["result"] == {"echo": "from the test", "steps": 4, "attempt": 1}
    assert done["worker"].startswith("test-") and len(done["logs"]) == 4


def test_events_of_a_finished_job_replay_and_end(creator, worker, web):
    job = submit_echo(creator, steps=1, delay=0)
    wait_for(lambda: job_status(job) == JobStatus.SUCCEEDED, what="the job to succeed")
    token = Token.objects.create(user=creator).key
    received = read_events(f"{web}/api/v1/jobs/{job.id}/events/", token, timeout=15)
    assert received[0][1]["status"] == "succeeded"
    assert received[-1][1]["status"] == "succeeded"


def test_failed_job_reports_its_error_and_retry_runs_it_again(creator, worker, client_for):
    job = submit_echo(creator, steps=3, delay=0.05, fail_at_step=2)
    wait_for(lambda: job_status(job) == JobStatus.FAILED, what="the job to fail")
    job.refresh_from_db()
    assert job.error == "Failed on purpose at step 2." and job.attempt == 1
    assert client_for(creator).post(f"/api/v1/jobs/{job.id}/retry/").json()["status"] == "queued"
    wait_for(lambda: Job.objects.get(pk=job.pk).attempt == 2 and job_status(job) == JobStatus.FAILED, what="the retry")


def test_cancel_reaches_a_running_job_within_seconds(creator, worker, client_for):
    job = submit_echo(creator, steps=200, delay=0.1)
    wait_for(lambda: Job.objects.get(pk=job.pk).progress > 0, what="the job to make progress")
    assert client_for(creator).post(f"/api/v1/jobs/{job.id}/cancel/").status_code == 200
    wait_for(lambda: job_status(job) == JobStatus.CANCELLED, timeout=5, what="the job to stop")
    assert Job.objects.get(pk=job.pk).progress < 0.5


def test_a_job_cancelled_while_queued_never_starts(creator, start_worker):
    job = submit_echo(creator, queue="cancel-while-queued")
    services.job_cancel(job=job)
    start_worker(queues="cancel-while-queued", concurrency=1)
    follow_up = submit_echo(creator, queue="cancel-while-queued", steps=1, delay=0)
    wait_for(lambda: job_status(follow_up) == JobStatus.SUCCEEDED, what="the job queued after it")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.attempt == 0 and job.started_at is None


def test_a_worker_killed_mid_job_the_job_is_redelivered_and_finishes_once(creator, start_worker, log_dir):
    # Given a job running on a worker, and the periodic scheduler that sweeps stale leases
    first = start_worker(queues="sigkill", concurrency=1)
    scheduler = start_scheduler(log_dir)
    try:
        job = submit_echo(creator, queue="sigkill", steps=12, delay=0.25)
        wait_for(lambda: Job.objects.get(pk=job.pk).progress >= 0.25, what="the job to be well under way")
        first_name = Job.objects.get(pk=job.pk).worker
        # When the worker is killed with SIGKILL (no chance to clean up) and another one starts
        first.kill()
        start_worker(queues="sigkill", concurrency=1)
        # Then the job is taken up again and finishes, on its second attempt
        wait_for(lambda: job_status(job) == JobStatus.SUCCEEDED, timeout=60, what="the job to finish after the kill")
    finally:
        scheduler.stop()
    job.refresh_from_db()
    assert job.attempt == 2 and job.result["attempt"] == 2
    # and the killed worker was marked offline by the registry
    assert Worker.objects.get(name=first_name).status == WorkerStatus.OFFLINE
    # and it finished exactly once: one success in its event history, and no further attempt
    history = redis_client().xrange(events.stream_key(job.id))
    finished = [entry for _, entry in history if entry[b"type"] == b"status" and b'"succeeded"' in entry[b"data"]]
    assert len(finished) == 1
    assert "during attempt 1" in " ".join(
        json.loads(entry[b"data"]).get("message", "") for _, entry in history if entry[b"type"] == b"status"
    )
