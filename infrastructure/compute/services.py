"""Writes for jobs. Every state change is a conditional update, so a redelivered or stale task
message can never move a job that another attempt owns or that has already ended.
"""

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from kombu.exceptions import OperationalError as KombuOperationalError

from aigc_platform.celery import app
from aigc_platform.core.broker import is_reserved_key
from aigc_platform.core.errors import ApplicationError, Conflict
from infrastructure.compute import broker, events, selectors, statements
from infrastructure.compute.kinds import job_kind
from infrastructure.compute.models import Job, JobStatus, Worker, WorkerStatus
from infrastructure.usage.services import usage_reservation_renew

logger = logging.getLogger(__name__)

MESSAGE_MAX = 500
# Queued jobs looked at per sweep for a lost task message, oldest first.
REDISPATCH_BATCH = 1000


STATUS_EVENT_FIELDS = ("status", "progress", "message", "error", "attempt", "worker")
# What a worker needs of the job it claims (JobContext), and its status event.
CLAIMED_FIELDS = ("id", "owner_id", "params", *STATUS_EVENT_FIELDS)


def status_state(row: Job) -> dict[str, Any]:
    """The data of a job's `status` event, from a row that holds STATUS_EVENT_FIELDS."""
    return {field: getattr(row, field) for field in STATUS_EVENT_FIELDS}


def _status_event(job_id, row: Job | None = None, *, after: Sequence[tuple[str, dict]] = ()) -> None:
    """After commit, tell live viewers the job's new state: as `row` holds it by then, where the caller
    has the row as it wrote it, else as the database has it (one query more). Events the job made
    and had not yet published (`after`) go first, in the same round trip."""

    def publish() -> None:
        if row is not None:
            state = status_state(row)
        else:
            state = Job.objects.filter(pk=job_id).values(*STATUS_EVENT_FIELDS).first()
        events.publish_many(job_id, [*after, *([("status", state)] if state else [])])

    transaction.on_commit(publish)


def _route(*, gpus: int, min_gpu_memory_mb: int) -> tuple[str, str]:
    """The queue and message of a job that asks for GPUs: the own queue of an online worker whose GPUs
    can hold it, or no queue ("", the job waits unsent) and a message saying why none can."""
    worker = selectors.worker_for_resources(gpus=gpus, min_gpu_memory_mb=min_gpu_memory_mb)
    if worker is None:
        return "", selectors.why_no_worker_fits(gpus=gpus, min_gpu_memory_mb=min_gpu_memory_mb)[:MESSAGE_MAX]
    return worker.own_queue, f"Routed to {worker.name}."


def _kind_queue(kind: str) -> str:
    registered = job_kind(kind)
    return (registered.queue if registered else None) or settings.CELERY_TASK_DEFAULT_QUEUE


def _send(job: Job) -> None:
    """Send the job's task message to its queue once the transaction commits."""
    kind = job_kind(job.kind)
    task_name = kind.task_name if kind else f"jobs.{job.kind}"
    queue = job.queue
    if is_reserved_key(queue):
        # A row from before queues were chosen by the platform: sending it would create a key of the
        # broker transport's own under the wrong type, which stops every worker.
        queue = job.queue = _kind_queue(job.kind)
        Job.objects.filter(pk=job.pk).update(queue=queue)

    def send() -> None:
        try:
            app.send_task(task_name, args=[str(job.id)], queue=queue)
        except (KombuOperationalError, redis.RedisError) as error:
            # The job is committed and stays queued: the sweep sends it once the broker is back.
            logger.warning("Could not send job %s to queue %s: %s", job.id, queue, error)

    transaction.on_commit(send)


def _dispatch(job: Job) -> None:
    """Send a queued job to its queue after commit, routing it first when it asks for GPUs; while no
    worker can hold it, it waits (not sent) with a message saying why."""
    if job.gpus or job.min_gpu_memory_mb:
        job.queue, job.message = _route(gpus=job.gpus, min_gpu_memory_mb=job.min_gpu_memory_mb)
        if not job.queue:
            Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(queue="", message=job.message)
            _status_event(job.pk)
            return
        Job.objects.filter(pk=job.pk).update(queue=job.queue, message=job.message)
    _send(job)


def job_queue_check(*, queue: str) -> str:
    """A queue an operator names for a job: only one that exists (`selectors.queues_known`), so nothing
    a person sends becomes a new broker key."""
    if not selectors.queue_is_known(queue):
        known = ", ".join(sorted(selectors.queues_known()))
        raise ApplicationError(
            gettext("There is no queue %(value)r; the queues are: %(known)s.") % {"value": queue[:100], "known": known},
            code="unknown_queue",
            fields={"queue": [gettext("One of %(known)s.") % {"known": known}]},
        )
    return queue


def job_submit(
    *,
    owner,
    kind: str,
    params: dict[str, Any] | None = None,
    queue: str | None = None,
    gpus: int = 0,
    min_gpu_memory_mb: int = 0,
) -> Job:
    """Validate the params by the kind's serializer, create a queued job (routed already when it asks
    for GPUs) and send it to its queue once the caller's transaction, if any, commits. It writes one
    row, which needs no transaction of its own: BEGIN and COMMIT would be two more round trips.

    The queue is the platform's choice: the kind's own queue, or the worker whose GPUs can hold the
    job. A `queue` given here comes from a layer that serves its kind elsewhere, or from an operator
    through `job_queue_check`; it is never one of the broker transport's own keys."""
    registered = job_kind(kind)
    if registered is None:
        raise ApplicationError(
            gettext("Unknown job kind %(kind)r.") % {"kind": kind}, fields={"kind": [gettext("Unknown job kind.")]}
        )
    if queue and is_reserved_key(queue):
        raise ApplicationError(
            gettext("%(value)r is the broker's own key and cannot be a queue.") % {"value": queue[:100]},
            code="unknown_queue",
            fields={"queue": [gettext("Not a queue.")]},
        )
    queue = queue or _kind_queue(kind)
    params = params or {}
    if registered.params is not None:
        serializer = registered.params(data=params)
        if not serializer.is_valid():
            raise ApplicationError(gettext("The job's params are invalid."), fields={"params": [serializer.errors]})
        # Stored as JSON: values such as UUIDs and dates become strings, as they would over the API.
        params = json.loads(json.dumps(serializer.validated_data, cls=DjangoJSONEncoder))
    message = "Waiting for a worker."
    if gpus or min_gpu_memory_mb:
        queue, message = _route(gpus=gpus, min_gpu_memory_mb=min_gpu_memory_mb)
    job = statements.job_insert(
        Job(
            owner=owner,
            kind=kind,
            params=params,
            queue=queue,
            gpus=gpus,
            min_gpu_memory_mb=min_gpu_memory_mb,
            max_attempts=settings.JOB_MAX_ATTEMPTS,
            message=message,
        )
    )
    # No "queued" event: nobody can follow the job's stream before this returns its id, and a stream
    # opens with a snapshot of the row (api.job_events), so the event would only cost a round trip.
    if job.queue:
        _send(job)
    return job


@transaction.atomic
def job_cancel(*, job: Job) -> Job:
    """A queued job is cancelled at once and never starts; a running one stops at its next step."""
    now = timezone.now()
    cancelled = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, message="Cancelled before it started."
    )
    if not cancelled:
        requested = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            cancel_requested=True, message="Cancelling…"
        )
        if not requested:
            job.refresh_from_db()
            raise Conflict(
                gettext("The job has already %(status)s; there is nothing to cancel.") % {"status": job.status},
                code="job_finished",
            )
    _status_event(job.pk)
    job.refresh_from_db()
    return job


@transaction.atomic
def job_retry(*, job: Job) -> Job:
    """Queue a failed or cancelled job again, as the same job, with a fresh budget of attempts."""
    retried = Job.objects.filter(pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]).update(
        status=JobStatus.QUEUED,
        progress=0.0,
        message="Queued again.",
        error="",
        result=None,
        cancel_requested=False,
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
        max_attempts=F("attempt") + settings.JOB_MAX_ATTEMPTS,
    )
    if not retried:
        job.refresh_from_db()
        raise Conflict(
            gettext("Only failed or cancelled jobs can be retried; this one is %(status)s.") % {"status": job.status},
            code="job_not_retryable",
        )
    # A job that reserved tokens reserves them again, as a new request would (429 over the quota).
    usage_reservation_renew(job_id=job.pk)
    job.refresh_from_db()
    # The earlier attempt's live events would end a new viewer's stream at once; its logs stay in the database.
    events.discard(job.pk)
    _status_event(job.pk)
    _dispatch(job)
    return job


def job_claim(*, job_id, worker: str) -> Job | None:
    """queued → running for one attempt; None when the job is not queued (taken, ended, cancelled). Its
    `status` event is the caller's (`status_state(job)`): a worker publishes it with the job's first
    batch of events (JobContext), so a short job's start and end reach its stream in one round trip."""
    now = timezone.now()
    return statements.job_update(
        job_id,
        rows=statements.CLAIMABLE,
        returning=CLAIMED_FIELDS,
        values={
            "status": JobStatus.RUNNING,
            "worker": worker,
            "started_at": now,
            "heartbeat_at": now,
            "message": "Running.",
        },
    )


def _owned_update(job_id, attempt: int, logs: Sequence[str] = (), **values) -> Job | None:
    """Update the attempt's running job; the job with its `cancel_requested` as the same statement read
    it (so the attempt hears a cancel without another query), or None when it no longer owns the job."""
    return statements.job_update(
        job_id, rows=statements.OWNED, attempt=attempt, values=values, logs=logs, returning=("id", "cancel_requested")
    )


def job_renew_lease(*, job_id, attempt: int) -> Job | None:
    """Extend the attempt's lease (see `_owned_update` for what it returns)."""
    return _owned_update(job_id, attempt, heartbeat_at=timezone.now())


def job_logs_write(*, job_id, attempt: int, lines: Sequence[str]) -> None:
    if lines:
        statements.logs_insert(job_id=job_id, attempt=attempt, lines=lines)


def job_progress(*, job_id, attempt: int, progress: float, message: str = "", logs: Sequence[str] = ()) -> Job | None:
    """Record progress and the log lines written since the last record (see `_owned_update` for what
    it returns). The live events of both are the caller's (JobContext publishes each report at once)."""
    fields: dict[str, Any] = {"progress": min(max(float(progress), 0.0), 1.0), "heartbeat_at": timezone.now()}
    if message:
        fields["message"] = message[:MESSAGE_MAX]
    return _owned_update(job_id, attempt, logs, **fields)


def job_cancel_requested(*, job_id) -> bool:
    return Job.objects.filter(pk=job_id, cancel_requested=True).exists()


def _finish(
    job_id,
    attempt: int,
    status: str,
    *,
    logs: Sequence[str] = (),
    unpublished: Sequence[tuple[str, dict]] = (),
    **fields,
) -> bool:
    """End the attempt's job, with the log lines it wrote since its last record and, before its status
    event, the live events it had not yet published."""
    job = statements.job_update(
        job_id,
        rows=statements.OWNED,
        attempt=attempt,
        logs=logs,
        returning=("id", *STATUS_EVENT_FIELDS),
        values={"status": status, "finished_at": timezone.now(), **fields},
    )
    if job is not None:
        _status_event(job_id, job, after=unpublished)
    else:
        logger.warning("Job %s attempt %s could not be marked %s: it no longer owns the job.", job_id, attempt, status)
        events.publish_many(job_id, unpublished)
    return job is not None


def job_succeed(
    *, job_id, attempt: int, result: Any, logs: Sequence[str] = (), unpublished: Sequence[tuple[str, dict]] = ()
) -> bool:
    return _finish(
        job_id,
        attempt,
        JobStatus.SUCCEEDED,
        logs=logs,
        unpublished=unpublished,
        progress=1.0,
        result=result,
        message="Done.",
    )


def job_fail(
    *, job_id, attempt: int, error: str, logs: Sequence[str] = (), unpublished: Sequence[tuple[str, dict]] = ()
) -> bool:
    return _finish(
        job_id,
        attempt,
        JobStatus.FAILED,
        logs=logs,
        unpublished=unpublished,
        error=error,
        message=error.splitlines()[0][:MESSAGE_MAX] if error else "Failed.",
    )


def job_mark_cancelled(
    *, job_id, attempt: int, logs: Sequence[str] = (), unpublished: Sequence[tuple[str, dict]] = ()
) -> bool:
    return _finish(job_id, attempt, JobStatus.CANCELLED, logs=logs, unpublished=unpublished, message="Cancelled.")


def _job_recover(job: Job, *, still_owned, reason: str) -> str | None:
    """A running job whose worker is gone: back to the queue, or failed when out of attempts, or
    cancelled when cancel was asked for. `still_owned` guards the update against a moving job."""
    now = timezone.now()
    with transaction.atomic():
        if job.cancel_requested:
            outcome = (
                "cancelled"
                if still_owned.update(status=JobStatus.CANCELLED, finished_at=now, message="Cancelled.")
                else None
            )
        elif job.attempt >= job.max_attempts:
            error = f"{reason} The job ran out of attempts ({job.max_attempts})."
            changed = still_owned.update(
                status=JobStatus.FAILED, finished_at=now, error=error, message=error[:MESSAGE_MAX]
            )
            outcome = "failed" if changed else None
        else:
            changed = still_owned.update(
                status=JobStatus.QUEUED, heartbeat_at=None, message=f"{reason} Queued again."[:MESSAGE_MAX]
            )
            outcome = "requeued" if changed else None
            if changed:
                _dispatch(job)
        if outcome:
            _status_event(job.pk)
    return outcome


def _recover_all(jobs, still_owned_for, reason_for) -> dict[str, int]:
    counts = {"requeued": 0, "failed": 0, "cancelled": 0}
    for job in jobs.only(
        "id", "attempt", "max_attempts", "worker", "cancel_requested", "queue", "kind", "gpus", "min_gpu_memory_mb"
    ):
        outcome = _job_recover(job, still_owned=still_owned_for(job), reason=reason_for(job))
        if outcome:
            counts[outcome] += 1
    if any(counts.values()):
        logger.info("Recovered jobs: %s", counts)
    return counts


def jobs_requeue_stale(*, lease_seconds: float | None = None) -> dict[str, int]:
    """Running jobs whose lease was not renewed in time lost their worker."""
    lease = timedelta(seconds=lease_seconds if lease_seconds is not None else settings.JOB_LEASE_SECONDS)
    cutoff = timezone.now() - lease
    return _recover_all(
        Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff),
        lambda job: Job.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, attempt=job.attempt, heartbeat_at__lt=cutoff
        ),
        lambda job: f"Worker {job.worker or '?'} stopped responding during attempt {job.attempt}.",
    )


def jobs_redispatch_lost(*, grace_seconds: float | None = None) -> int:
    """Queued jobs whose task message the broker no longer holds are sent again: the broker restarted
    without it, sending it failed while the broker was down, or a worker died after taking it and
    before starting the job. Jobs younger than the grace (the job lease) are left alone, their
    message may be on its way. A job sent twice still runs once: its claim is conditional."""
    grace = grace_seconds if grace_seconds is not None else settings.JOB_LEASE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=grace)
    waiting = list(
        Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=cutoff)
        .exclude(queue="")
        .order_by("created_at")
        .only("id", "kind", "queue", "gpus", "min_gpu_memory_mb")[:REDISPATCH_BATCH]
    )
    if not waiting:
        return 0
    try:
        present = broker.job_ids_with_messages({job.queue for job in waiting}, unacked_within_seconds=grace)
    except redis.RedisError as error:
        logger.warning("Could not look for lost job messages: %s", error)
        return 0
    if present is None:
        return 0
    sent = 0
    for job in waiting:
        if str(job.id) in present:
            continue
        with transaction.atomic():
            # Claimed meanwhile (its message was being delivered): nothing was lost.
            if not Job.objects.select_for_update().filter(pk=job.pk, status=JobStatus.QUEUED).exists():
                continue
            _dispatch(job)
        sent += 1
    if sent:
        logger.warning("Sent %s queued jobs again whose task message was lost.", sent)
    return sent


def jobs_route_waiting() -> int:
    """Queued jobs that no worker could hold yet: route them again, now that workers may have come."""
    waiting = list(Job.objects.filter(status=JobStatus.QUEUED, queue=""))
    for job in waiting:
        with transaction.atomic():
            _dispatch(job)
    return sum(1 for job in waiting if job.queue)


# Workers


def worker_register(
    *, name: str, hostname: str, queues: list[str], own_queue: str, concurrency: int, pid: int, inventory: dict
) -> Worker:
    now = timezone.now()
    worker, _ = Worker.objects.update_or_create(
        name=name,
        defaults={
            "hostname": hostname,
            "queues": queues,
            "own_queue": own_queue,
            "concurrency": concurrency,
            "pid": pid,
            "cpu_count": inventory["cpu_count"],
            "ram_mb": inventory["ram_mb"],
            "gpus": inventory["gpus"],
            "status": WorkerStatus.ONLINE,
            "started_at": now,
            "last_heartbeat_at": now,
        },
    )
    logger.info("Worker %s registered: %s CPUs, %s GPUs, queues %s", name, worker.cpu_count, len(worker.gpus), queues)
    return worker


def worker_heartbeat(*, name: str, gpus: list[dict]) -> bool:
    """Renew a worker's heartbeat; one that was marked offline but still beats is online again."""
    now = timezone.now()
    Worker.objects.filter(name=name, status=WorkerStatus.OFFLINE).update(status=WorkerStatus.ONLINE)
    return bool(Worker.objects.filter(name=name).update(last_heartbeat_at=now, gpus=gpus))


def worker_deregister(*, name: str) -> None:
    Worker.objects.filter(name=name).update(status=WorkerStatus.OFFLINE)


def worker_drain(*, worker: Worker) -> Worker:
    """The worker finishes what it runs and takes nothing new: it stops consuming every queue."""
    if worker.status == WorkerStatus.OFFLINE:
        raise Conflict(
            gettext("Worker %(name)s is offline; there is nothing to drain.") % {"name": worker.name},
            code="worker_offline",
        )
    Worker.objects.filter(pk=worker.pk).update(status=WorkerStatus.DRAINING)
    for queue in worker.queues:
        app.control.cancel_consumer(queue, destination=[worker.name])
    worker.refresh_from_db()
    return worker


def worker_resume(*, worker: Worker) -> Worker:
    if worker.status != WorkerStatus.DRAINING:
        raise Conflict(
            gettext("Worker %(name)s is %(status)s, not draining.") % {"name": worker.name, "status": worker.status},
            code="worker_not_draining",
        )
    Worker.objects.filter(pk=worker.pk).update(status=WorkerStatus.ONLINE)
    for queue in worker.queues:
        app.control.add_consumer(queue, destination=[worker.name])
    worker.refresh_from_db()
    return worker


def workers_mark_offline(*, timeout_seconds: float | None = None) -> dict[str, int]:
    """Workers silent past the timeout are offline: their running jobs are recovered at once, and
    jobs routed to their own queue are routed again."""
    timeout = timedelta(seconds=timeout_seconds if timeout_seconds is not None else settings.WORKER_OFFLINE_SECONDS)
    cutoff = timezone.now() - timeout
    counts = {"offline": 0, "requeued": 0, "failed": 0, "cancelled": 0, "rerouted": 0}
    silent = Worker.objects.filter(
        status__in=[WorkerStatus.ONLINE, WorkerStatus.DRAINING], last_heartbeat_at__lt=cutoff
    )
    for worker in silent:
        if not Worker.objects.filter(pk=worker.pk, last_heartbeat_at__lt=cutoff).update(status=WorkerStatus.OFFLINE):
            continue
        counts["offline"] += 1
        logger.warning("Worker %s went silent; marked offline.", worker.name)
        recovered = _recover_all(
            Job.objects.filter(status=JobStatus.RUNNING, worker=worker.name),
            lambda job: Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempt=job.attempt, worker=job.worker),
            lambda job: f"Worker {job.worker} went offline during attempt {job.attempt}.",
        )
        for outcome, n in recovered.items():
            counts[outcome] += n
        stranded = Job.objects.filter(status=JobStatus.QUEUED, queue=worker.own_queue)
        counts["rerouted"] += stranded.update(queue="", message=f"Worker {worker.name} went offline; routing again.")
    if counts["rerouted"]:
        jobs_route_waiting()
    return counts


def compute_sweep() -> dict[str, dict | int]:
    """The periodic scheduler's pass over compute: silent workers, lapsed leases, waiting jobs."""
    return {
        "workers": workers_mark_offline(),
        "leases": jobs_requeue_stale(),
        "routed": jobs_route_waiting(),
        "redispatched": jobs_redispatch_lost(),
    }
