"""The Job state machine, through its services and the jobs API (no worker involved)."""

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from aigc_platform.core.errors import Conflict
from infrastructure.compute import events, lifecycle, services
from infrastructure.compute.broker import redis_client
from infrastructure.compute.lifecycle import JobCancelled, JobContext, JobLost
from infrastructure.compute.models import Job, JobLog, JobStatus

pytestmark = pytest.mark.django_db


def echo_job(owner, **params) -> Job:
    return services.job_submit(
        owner=owner, kind="echo", params={"message": "hi", "steps": 1, "delay": 0, **params}, queue="nowhere"
    )


def test_claim_is_conditional_so_a_redelivered_message_does_nothing(creator):
    job = echo_job(creator)
    first = services.job_claim(job_id=job.id, worker="w1")
    assert first.status == JobStatus.RUNNING and first.attempt == 1
    assert services.job_claim(job_id=job.id, worker="w2") is None
    assert Job.objects.get(pk=job.pk).worker == "w1"


def test_only_the_owning_attempt_can_finish_a_job(creator):
    job = echo_job(creator)
    services.job_claim(job_id=job.id, worker="w1")
    assert services.job_succeed(job_id=job.id, attempt=2, result={"x": 1}) is False
    assert services.job_succeed(job_id=job.id, attempt=1, result={"x": 1}) is True
    assert services.job_fail(job_id=job.id, attempt=1, error="late") is False
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result == {"x": 1} and job.progress == 1.0


@pytest.mark.django_db(transaction=True)
def test_a_jobs_statements_run_on_after_their_connection_is_replaced(creator):
    # A worker's connection is closed now and then (CELERY_DB_REUSE_MAX, CONN_MAX_AGE): the cursor the
    # statements kept belongs to the old connection and must not be used again
    job = echo_job(creator)
    assert services.job_claim(job_id=job.id, worker="w1").attempt == 1
    connection.close()
    assert services.job_succeed(job_id=job.id, attempt=1, result={"ok": True})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result == {"ok": True}


def test_a_jobs_statements_are_prepared_once_per_connection_and_run_again_from_there(creator):
    # Django opens its connections with prepare_threshold=None, under which psycopg prepares nothing
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    for _ in range(3):
        job = echo_job(creator)
        services.job_claim(job_id=job.id, worker="w1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        runs = {statement.split()[0]: count for statement, count in cursor.fetchall()}
    assert runs == {"INSERT": 3, "UPDATE": 3}  # the job's insert and its claim, each prepared once


@pytest.mark.django_db(transaction=True)
def test_only_the_claim_commits_without_waiting_for_its_flush(creator):
    # The claim turns synchronous_commit off for its own transaction; what the connection runs next,
    # such as the job's end, must commit durably again
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    job = echo_job(creator)
    assert services.job_claim(job_id=job.id, worker="w1").attempt == 1
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    assert services.job_succeed(job_id=job.id, attempt=1, result={"ok": True})


def test_cancel_of_a_queued_job_cancels_at_once_and_it_never_starts(creator):
    job = services.job_cancel(job=echo_job(creator))
    assert job.status == JobStatus.CANCELLED
    assert services.job_claim(job_id=job.id, worker="w1") is None


def test_cancel_of_a_running_job_asks_it_to_stop(creator):
    job = echo_job(creator)
    services.job_claim(job_id=job.id, worker="w1")
    job = services.job_cancel(job=job)
    assert job.status == JobStatus.RUNNING and job.cancel_requested
    assert services.job_cancel_requested(job_id=job.id)


def running_context(owner) -> JobContext:
    job = services.job_claim(job_id=echo_job(owner).id, worker="w1")
    return JobContext(job_id=job.id, attempt=job.attempt, params=job.params, owner_id=job.owner_id)


def test_a_running_jobs_reports_reach_its_row_at_most_every_write_interval_and_the_rest_at_its_end(creator, settings):
    settings.JOB_WRITE_SECONDS = 60
    ctx = running_context(creator)
    ctx.log("first line")
    ctx.progress(0.5, "half way")
    # Within the interval nothing was written: the row still holds the claim
    assert Job.objects.get(pk=ctx.job_id).progress == 0.0 and not JobLog.objects.filter(job_id=ctx.job_id).exists()
    # and the end writes the lines with the final state
    assert services.job_succeed(job_id=ctx.job_id, attempt=ctx.attempt, result={}, logs=ctx.take_logs())
    assert list(JobLog.objects.filter(job_id=ctx.job_id).values_list("attempt", "line")) == [(1, "first line")]
    assert ctx.take_logs() == []


def test_a_due_write_records_progress_and_lines_and_hears_a_cancel(creator, settings):
    settings.JOB_WRITE_SECONDS = 0
    ctx = running_context(creator)
    ctx.log("one")
    ctx.log("two")
    ctx.progress(0.25, "a quarter")
    job = Job.objects.get(pk=ctx.job_id)
    assert (job.progress, job.message) == (0.25, "a quarter")
    assert list(JobLog.objects.filter(job_id=ctx.job_id).order_by("id").values_list("line", flat=True)) == [
        "one",
        "two",
    ]
    services.job_cancel(job=job)
    with pytest.raises(JobCancelled):
        ctx.progress(0.5)


def test_a_write_due_at_a_log_line_carries_the_latest_progress_too(creator, settings):
    settings.JOB_WRITE_SECONDS = 0.05
    ctx = running_context(creator)
    ctx.log("step 1")
    ctx.progress(0.1, "step 1 done")
    time.sleep(0.06)
    ctx.log("step 2")  # (a job that logs before it reports would otherwise never write its progress)
    job = Job.objects.get(pk=ctx.job_id)
    assert (job.progress, job.message) == (0.1, "step 1 done")
    assert JobLog.objects.filter(job_id=ctx.job_id).count() == 2


def test_the_lease_renewal_tells_a_job_it_was_cancelled_or_taken_over(creator, settings):
    settings.JOB_WRITE_SECONDS = 60
    ctx = running_context(creator)
    services.job_cancel(job=Job.objects.get(pk=ctx.job_id))
    ctx.progress(0.2)  # (no write is due: the report alone does not hear it)
    ctx.heard(services.job_renew_lease(job_id=ctx.job_id, attempt=ctx.attempt))
    with pytest.raises(JobCancelled):
        ctx.progress(0.3)
    # An attempt that no longer owns the job reads None back, and stops as lost
    ctx.heard(services.job_renew_lease(job_id=ctx.job_id, attempt=ctx.attempt + 1))
    with pytest.raises(JobLost):
        ctx.progress(0.9)


def test_log_lines_written_alone_keep_their_order(creator):
    job = echo_job(creator)
    services.job_logs_write(job_id=job.id, attempt=1, lines=["a", "b", "c"])
    services.job_logs_write(job_id=job.id, attempt=1, lines=["d"])
    assert list(JobLog.objects.filter(job_id=job.id).order_by("id").values_list("line", flat=True)) == [
        "a",
        "b",
        "c",
        "d",
    ]


def stream(job_id) -> list[tuple[str, dict]]:
    return [
        (fields[b"type"].decode(), json.loads(fields[b"data"]))
        for _, fields in redis_client().xrange(events.stream_key(job_id))
    ]


def test_events_made_within_the_batch_interval_wait_and_go_with_the_end_before_its_status(
    creator, settings, django_capture_on_commit_callbacks
):
    settings.JOB_EVENTS_BATCH_SECONDS = 60
    ctx = running_context(creator)
    ctx.emit("token", {"text": "a"})
    ctx.log("a line")
    ctx.emit("token", {"text": "b"})
    # Within the interval of the claim's status event, nothing more reached the stream
    assert stream(ctx.job_id) == []
    # and the end publishes them, in order, before its status
    with django_capture_on_commit_callbacks(execute=True):
        services.job_succeed(job_id=ctx.job_id, attempt=ctx.attempt, result={}, unpublished=ctx.take_unpublished())
    received = stream(ctx.job_id)
    assert [event_type for event_type, _ in received] == ["token", "log", "token", "status"]
    assert received[0][1] == {"text": "a"} and received[-1][1]["status"] == JobStatus.SUCCEEDED


@pytest.mark.django_db(transaction=True)  # the lease thread renews the lease on its own connection
def test_events_left_waiting_reach_the_stream_within_the_interval_and_in_order(creator, settings):
    settings.JOB_EVENTS_BATCH_SECONDS = 0.02
    ctx = running_context(creator)
    lifecycle._leases.hold(ctx)
    try:
        # Given a job that emits faster than the interval, for longer than it
        for n in range(200):
            ctx.emit("token", {"n": n})
            time.sleep(0.001)

        # Then within about the interval every event is in the stream, in the order made
        def tokens() -> list[int]:
            return [data["n"] for event_type, data in stream(ctx.job_id) if event_type == "token"]

        deadline = time.monotonic() + 2
        while len(tokens()) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert tokens() == list(range(200))
        assert ctx.take_unpublished() == []
    finally:
        lifecycle._leases.release(ctx)


def test_cancel_of_a_finished_job_is_a_conflict(creator):
    job = echo_job(creator)
    services.job_claim(job_id=job.id, worker="w1")
    services.job_succeed(job_id=job.id, attempt=1, result={})
    with pytest.raises(Conflict):
        services.job_cancel(job=job)


def test_retry_of_a_running_job_is_a_conflict_and_of_a_failed_one_requeues_it(creator):
    job = echo_job(creator)
    services.job_claim(job_id=job.id, worker="w1")
    with pytest.raises(Conflict):
        services.job_retry(job=job)
    services.job_fail(job_id=job.id, attempt=1, error="boom")
    job = services.job_retry(job=job)
    assert job.status == JobStatus.QUEUED and job.error == "" and job.attempt == 1
    assert job.max_attempts == 1 + 3


def test_a_job_whose_lease_lapsed_is_requeued_then_failed_when_out_of_attempts(creator):
    job = echo_job(creator)
    Job.objects.filter(pk=job.pk).update(max_attempts=2)
    stale = timezone.now() - timedelta(seconds=60)
    for attempt in (1, 2):
        assert services.job_claim(job_id=job.id, worker=f"w{attempt}").attempt == attempt
        Job.objects.filter(pk=job.pk).update(heartbeat_at=stale)
        counts = services.jobs_requeue_stale(lease_seconds=5)
        job.refresh_from_db()
        if attempt == 1:
            assert counts["requeued"] == 1 and job.status == JobStatus.QUEUED
    assert counts["failed"] == 1 and job.status == JobStatus.FAILED
    assert "ran out of attempts" in job.error


def test_a_fresh_lease_is_left_alone(creator):
    job = echo_job(creator)
    services.job_claim(job_id=job.id, worker="w1")
    assert services.jobs_requeue_stale(lease_seconds=5) == {"requeued": 0, "failed": 0, "cancelled": 0}


def test_jobs_api_shows_owners_only_their_jobs_and_404s_others(creator, other_creator, admin_user, client_for):
    job = echo_job(creator)
    assert client_for(creator).get(f"/api/v1/jobs/{job.id}/").status_code == 200
    assert client_for(other_creator).get(f"/api/v1/jobs/{job.id}/").status_code == 404
    assert client_for(other_creator).post(f"/api/v1/jobs/{job.id}/cancel/").status_code == 404
    assert client_for(other_creator).get(f"/api/v1/jobs/{job.id}/events/").status_code == 404
    assert client_for(other_creator).get("/api/v1/jobs/").json()["count"] == 0
    assert client_for(admin_user).get("/api/v1/jobs/").json()["count"] == 1


def test_jobs_api_conflicts_are_409(creator, client_for):
    client = client_for(creator)
    job = echo_job(creator)
    assert client.post(f"/api/v1/jobs/{job.id}/retry/").status_code == 409
    assert client.post(f"/api/v1/jobs/{job.id}/cancel/").json()["status"] == "cancelled"
    response = client.post(f"/api/v1/jobs/{job.id}/cancel/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "job_finished"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "no-such-kind"}, "kind"),
        ({"kind": "echo", "params": {"steps": 0}}, "params"),
        ({"kind": "echo", "params": {"volume": 11}}, "params"),
        ({"kind": "echo", "priority": "high"}, "priority"),
    ],
)
def test_bad_job_submissions_name_the_field(creator, client_for, body, field):
    response = client_for(creator).post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_bad_ids_and_filters_are_4xx(creator, client_for):
    client = client_for(creator)
    assert client.get("/api/v1/jobs/not-a-uuid/").status_code == 404
    assert client.get("/api/v1/jobs/?status=sleeping").status_code == 400
    assert client.get("/api/v1/jobs/?page=999").status_code == 404
