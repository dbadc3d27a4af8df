"""Reads for jobs and workers."""

import json
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from aigc_platform.core.api import owned_by
from aigc_platform.core.broker import is_reserved_key
from aigc_platform.core.health import CheckResult, Finding
from infrastructure.compute import events
from infrastructure.compute.broker import queue_length, redis_client
from infrastructure.compute.models import TERMINAL_STATUSES, Job, JobLog, JobStatus, Worker, WorkerStatus


def jobs_visible_to(*, user) -> QuerySet[Job]:
    return owned_by(Job.objects.select_related("owner"), user)


def job_logs(*, job: Job, limit: int = 200) -> list[JobLog]:
    return list(reversed(JobLog.objects.filter(job=job).order_by("-id")[:limit]))


def job_counts(*, user) -> dict[str, int]:
    counts = {status: 0 for status in JobStatus.values}
    rows = owned_by(Job.objects.all(), user).values("status").annotate(n=Count("id"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def workers_health() -> CheckResult:
    """Registered workers with a fresh heartbeat; having none is degraded, not down (jobs wait)."""
    online = list(workers_online().values_list("name", flat=True))
    if not online:
        return CheckResult(False, "no worker is online; jobs wait in their queues", critical=False)
    return CheckResult(True, f"{len(online)} online: {', '.join(online)}", critical=False)


def workers_online() -> QuerySet[Worker]:
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_OFFLINE_SECONDS)
    return Worker.objects.filter(status=WorkerStatus.ONLINE, last_heartbeat_at__gte=cutoff)


def workers_all() -> QuerySet[Worker]:
    return Worker.objects.all()


def _fitting_gpus(worker: Worker, min_gpu_memory_mb: int, *, memory_key: str) -> int:
    return sum(1 for gpu in worker.gpus if (gpu.get(memory_key) or 0) >= min_gpu_memory_mb)


def worker_for_resources(*, gpus: int, min_gpu_memory_mb: int) -> Worker | None:
    """The online worker best placed to run a job: enough GPUs that can hold it, preferring GPUs
    with that much memory free now, then the fewest running jobs."""
    needed = max(gpus, 1)
    candidates = [w for w in workers_online() if _fitting_gpus(w, min_gpu_memory_mb, memory_key="total_mb") >= needed]
    if not candidates:
        return None
    running = dict(
        Job.objects.filter(status=JobStatus.RUNNING, worker__in=[w.name for w in candidates])
        .values("worker")
        .annotate(n=Count("id"))
        .values_list("worker", "n")
    )
    return min(
        candidates,
        key=lambda w: (
            _fitting_gpus(w, min_gpu_memory_mb, memory_key="free_mb") < needed,
            running.get(w.name, 0),
            w.name,
        ),
    )


def why_no_worker_fits(*, gpus: int, min_gpu_memory_mb: int) -> str:
    wanted = f"{max(gpus, 1)} GPU(s)" + (f" with at least {min_gpu_memory_mb} MB each" if min_gpu_memory_mb else "")
    online = list(workers_online())
    if not online:
        return f"Waiting for a worker: none is online, and this job needs {wanted}."
    best = max(online, key=lambda w: _fitting_gpus(w, min_gpu_memory_mb, memory_key="total_mb"))
    return (
        f"Waiting: no online worker has {wanted}; the closest, {best.name}, has "
        f"{_fitting_gpus(best, min_gpu_memory_mb, memory_key='total_mb')} such GPU(s) of {len(best.gpus)}."
    )


def worker_running_jobs(*, worker: Worker) -> QuerySet[Job]:
    return Job.objects.filter(status=JobStatus.RUNNING, worker=worker.name)


def queues_known() -> set[str]:
    """The queues that exist: the platform's own (default, generation) and those registered workers consume
    (their own queues included). Never one of the broker transport's bookkeeping keys."""
    names = {settings.CELERY_TASK_DEFAULT_QUEUE, settings.GENERATION_QUEUE}
    for queues in Worker.objects.exclude(status=WorkerStatus.OFFLINE).values_list("queues", flat=True):
        names.update(queues)
    return {name for name in names if name and not is_reserved_key(name)}


def queue_is_known(name: str) -> bool:
    if is_reserved_key(name):
        return False
    return name in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.GENERATION_QUEUE) or name in queues_known()


def queue_lengths() -> dict[str, int]:
    """Messages waiting per queue: the default queue, every worker's queues, and queues jobs wait in."""
    names = queues_known()
    names.update(
        Job.objects.filter(status=JobStatus.QUEUED).exclude(queue="").values_list("queue", flat=True).distinct()
    )
    return {name: queue_length(name) for name in sorted(names) if not is_reserved_key(name)}


def workers_findings() -> list[Finding]:
    """`aigc doctor`'s worker check: who is online, what waits, and queues that no online worker serves."""
    online = list(workers_online())
    try:
        waiting = {queue: n for queue, n in queue_lengths().items() if n}
    except Exception:  # the broker finding already says why the queues cannot be read
        waiting = {}
    backlog = f"; waiting: {', '.join(f'{queue} {n}' for queue, n in sorted(waiting.items()))}" if waiting else ""
    if not online:
        return [
            Finding(
                "workers",
                False,
                f"No worker is online: jobs wait in their queues{backlog}",
                "Start one with `aigc worker` on a machine that has DATABASE_URL and CELERY_BROKER_URL set to this "
                "deployment's (`aigc worker --queues inference --pool threads` serves generation; see deploy/README.md).",
            )
        ]
    served = sorted({queue for worker in online for queue in worker.queues})
    gpus = sum(len(worker.gpus or []) for worker in online)
    names = ", ".join(worker.name for worker in online[:5]) + (" …" if len(online) > 5 else "")
    found = [
        Finding("workers", True, f"{len(online)} online ({names}); queues {', '.join(served)}; {gpus} GPUs{backlog}")
    ]
    unserved = sorted(queue for queue in waiting if queue not in served)
    if unserved:
        found.append(
            Finding(
                "queues",
                False,
                f"Jobs wait in {', '.join(unserved)}, which no online worker consumes",
                f"Start a worker for it: `aigc worker --queues {','.join(unserved)}`.",
            )
        )
    return found


# While waiting on jobs' live events, the Job rows are read this often too, in case a stream lost its
# end (Redis restarted): the row is the durable record.
WAIT_DATABASE_CHECK_SECONDS = 2.0


def jobs_wait_ended(*, jobs: list[Job], timeout: float) -> list[Job]:
    """The jobs, read again once every one has ended or `timeout` seconds have passed. Woken by their
    live event streams (the status event that ends each), so an answer is back the moment its job
    ends, without polling the database in a loop."""
    after = {events.stream_key(job.pk): "0" for job in jobs}
    waiting = set(after)
    deadline = time.monotonic() + timeout
    checked = time.monotonic()
    while waiting and time.monotonic() < deadline:
        block = int(max(0.01, min(WAIT_DATABASE_CHECK_SECONDS, deadline - time.monotonic())) * 1000)
        for key, entries in redis_client().xread({key: after[key] for key in waiting}, block=block, count=500) or []:
            key = key.decode()
            for entry_id, fields in entries:
                after[key] = entry_id.decode()
                if fields[b"type"] == b"status" and json.loads(fields[b"data"]).get("status") in TERMINAL_STATUSES:
                    waiting.discard(key)
        if waiting and time.monotonic() - checked >= WAIT_DATABASE_CHECK_SECONDS:
            checked = time.monotonic()
            ended = Job.objects.filter(pk__in=[job.pk for job in jobs], status__in=TERMINAL_STATUSES).values_list(
                "pk", flat=True
            )
            waiting -= {events.stream_key(pk) for pk in ended}
    found = Job.objects.in_bulk([job.pk for job in jobs])
    return [found[job.pk] for job in jobs]


def job_events_follow(job_id, *, after: str = "0", block_ms: int = 10_000):
    """The job's live events from `after` on, as an async iterator of (event id, type, data), with None
    whenever `block_ms` passes with nothing new (infrastructure.compute.events.follow)."""
    return events.follow(job_id, after=after, block_ms=block_ms)
