"""The base Celery task that owns a Job's lifecycle, and the context a job's code reports through.

A job kind is one function decorated with `job_task`:

    @job_task("echo", params=EchoParams, public=True)
    def echo(ctx: JobContext) -> dict:
        for step in range(ctx.params["steps"]):
            ctx.progress((step + 1) / ctx.params["steps"], f"step {step + 1}")
        return {"echo": ctx.params["message"]}

The task is queued with the job's id only. It claims the job with a conditional update (so a
redelivered message never runs a claimed or finished job again), renews the job's lease from a
heartbeat thread while the function runs, and records success, failure or cancellation with
conditional updates that only the current attempt can make.
"""
import logging
import threading
import time
import traceback
from typing import Any, Callable

from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, OperationalError, close_old_connections, connection

from aigc_platform.celery import app
from aigc_platform.core.errors import ApplicationError
from infrastructure.compute import events, services
from infrastructure.compute.kinds import JobKind, register

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job when its owner asked to cancel it."""


class JobLost(Exception):
    """Raised inside a job whose lease passed to another attempt: this run must stop quietly."""


class JobContext:
    """What a running job's code sees: its params, and ways to report progress, logs and events."""

    def __init__(self, *, job_id, attempt: int, params: dict, owner_id: int, lost: threading.Event):
        self.job_id = job_id
        self.attempt = attempt
        self.params = params
        self.owner_id = owner_id
        self._lost = lost

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1) and stop here if the job was cancelled or taken over."""
        job = services.job_progress(job_id=self.job_id, attempt=self.attempt, progress=fraction, message=message)
        if job is None:
            self._lost.set()
        if self._lost.is_set():
            raise JobLost()
        if job.cancel_requested:
            raise JobCancelled()

    def log(self, line: str) -> None:
        services.job_log(job_id=self.job_id, attempt=self.attempt, line=line)

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """A live event for the job's stream only (tokens, samples, metrics)."""
        events.publish(self.job_id, event_type, data)

    def check_cancelled(self) -> None:
        if self._lost.is_set():
            raise JobLost()
        if services.job_cancel_requested(job_id=self.job_id):
            raise JobCancelled()


class _Leases:
    """Renews the leases of the jobs this process runs, from one thread, and tells a job when another
    attempt took it over. (A thread per job cost a short job more than its own queries.)"""

    def __init__(self) -> None:
        self._running: dict[tuple[Any, int], threading.Event] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, *, job_id, attempt: int, lost: threading.Event) -> None:
        with self._lock:
            self._running[(job_id, attempt)] = lost
            # Started on first use, so in the pool's own process: a thread does not survive a fork.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._renew_forever, name="job-leases", daemon=True)
                self._thread.start()

    def release(self, *, job_id, attempt: int) -> None:
        with self._lock:
            self._running.pop((job_id, attempt), None)

    def _renew_forever(self) -> None:
        while True:
            time.sleep(settings.JOB_HEARTBEAT_SECONDS)
            with self._lock:
                running = list(self._running.items())
            try:
                if not running:
                    connection.close()  # an idle worker holds no connection for this thread
                    continue
                # As before a task: a connection that broke or grew old is replaced, not used again.
                close_old_connections()
                for (job_id, attempt), lost in running:
                    if not services.job_renew_lease(job_id=job_id, attempt=attempt):
                        lost.set()
                        self.release(job_id=job_id, attempt=attempt)
            except DatabaseError as error:
                # The next tick tries again, on a new connection; the lease outlasts a few misses.
                logger.warning("Lease renewal failed: %s", error)


_leases = _Leases()


class JobTask(DjangoTask):
    """Base class of every job kind's task: takes a job id, owns the job's state from claim to end."""

    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    job_kind: str = ""
    # A database that is briefly unreachable at claim time is retried with backoff; nothing else is.
    max_retries = 5

    def __call__(self, job_id: str):
        try:
            job = services.job_claim(job_id=job_id, worker=self.request.hostname or "local")
        except OperationalError as error:
            raise self.retry(args=(job_id,), exc=error, countdown=2 ** min(self.request.retries, 5))
        if job is None:
            logger.info("Job %s is not queued any more; nothing to do.", job_id)
            return None
        lost = threading.Event()
        ctx = JobContext(job_id=job.id, attempt=job.attempt, params=job.params, owner_id=job.owner_id, lost=lost)
        _leases.hold(job_id=job.id, attempt=job.attempt, lost=lost)
        try:
            result = self.run(ctx)
        except JobLost:
            logger.warning("Job %s attempt %s lost its lease; another attempt owns it.", job.id, job.attempt)
        except JobCancelled:
            services.job_mark_cancelled(job_id=job.id, attempt=job.attempt)
        except SoftTimeLimitExceeded:
            services.job_fail(job_id=job.id, attempt=job.attempt, error="The job ran past its time limit.")
        except ApplicationError as error:
            services.job_fail(job_id=job.id, attempt=job.attempt, error=error.message)
        except Exception as error:
            logger.exception("Job %s failed", job.id)
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            services.job_fail(job_id=job.id, attempt=job.attempt, error=detail)
        else:
            services.job_succeed(job_id=job.id, attempt=job.attempt, result=result)
        finally:
            _leases.release(job_id=job.id, attempt=job.attempt)
        return None


def job_task(
    name: str,
    *,
    params: type | None = None,
    public: bool = False,
    soft_time_limit: int | None = None,
) -> Callable[[Callable[[JobContext], Any]], JobTask]:
    """Register a job kind: a function of a JobContext that returns the job's JSON result.

    `params` is the serializer that validates the job's input; `public` kinds may be submitted
    through the generic jobs API (others are submitted by their own layer's API).
    """
    soft = soft_time_limit or settings.JOB_SOFT_TIME_LIMIT

    def decorate(function: Callable[[JobContext], Any]) -> JobTask:
        task = app.task(
            base=JobTask, name=f"jobs.{name}", job_kind=name, soft_time_limit=soft, time_limit=soft + 60
        )(function)
        register(JobKind(name=name, task_name=task.name, params=params, public=public))
        return task

    return decorate
