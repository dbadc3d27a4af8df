"""Reads for jobs and workers."""
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from aigc_platform.core.api import owned_by
from aigc_platform.core.health import CheckResult
from infrastructure.compute.broker import queue_length
from infrastructure.compute.models import Job, JobLog, JobStatus, Worker, WorkerStatus


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
        .values("worker").annotate(n=Count("id")).values_list("worker", "n")
    )
    return min(
        candidates,
        key=lambda w: (_fitting_gpus(w, min_gpu_memory_mb, memory_key="free_mb") < needed, running.get(w.name, 0), w.name),
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


def queue_lengths() -> dict[str, int]:
    """Messages waiting per queue: the default queue, every worker's queues, and queues jobs wait in."""
    names = {"default"}
    for queues in Worker.objects.exclude(status=WorkerStatus.OFFLINE).values_list("queues", flat=True):
        names.update(queues)
    names.update(Job.objects.filter(status=JobStatus.QUEUED).exclude(queue="").values_list("queue", flat=True).distinct())
    return {name: queue_length(name) for name in sorted(names)}
