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
from collections.abc import Callable
from typing import Any

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
    """What a running job's code sees: its params, and ways to report progress, logs and events.

    Each report and event reaches the job's live stream at most JOB_EVENTS_BATCH_SECONDS after it was
    made: one that follows the last publish by less waits, and goes with the next one due or with the
    lease thread's next pass (_Leases). The Job row takes progress and log lines at most every
    JOB_WRITE_SECONDS. Whatever is left of both when the job ends goes with its end: the statement
    that ends it and its status event. So a training loop's steps and a short job's reports cost no
    database write of their own, and a short job's start, reports and end one Redis round trip. A
    cancel is heard at the next write, at `check_cancelled`, or from the lease renewal."""

    def __init__(self, *, job_id, attempt: int, params: dict, owner_id: int):
        self.job_id = job_id
        self.attempt = attempt
        self.params = params
        self.owner_id = owner_id
        # Set by this job's writes or by the lease thread (_Leases).
        self.lost = threading.Event()
        self.cancel_heard = threading.Event()
        self._logs: list[str] = []
        self._progress: tuple[float, str] | None = None  # reported, not yet written
        self._written_at = time.monotonic()  # the claim
        self._unpublished: list[tuple[str, dict[str, Any]]] = []
        # The claim's status event opens the first batch (JobTask), so that batch starts now.
        self._published_at = time.monotonic()
        self._publishing = threading.Lock()  # the job's thread and the lease thread both publish

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1) and stop here if the job was cancelled or taken over."""
        self._stop_if_asked()  # an attempt known to be lost or cancelled reports nothing more
        fraction = min(max(float(fraction), 0.0), 1.0)
        self.emit("progress", {"progress": fraction, "message": message})
        self._progress = (fraction, message)
        self._write_if_due()
        self._stop_if_asked()

    def log(self, line: str) -> None:
        self.emit("log", {"line": line, "attempt": self.attempt})
        self._logs.append(line)
        self._write_if_due()

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """A live event for the job's stream only (tokens, samples, metrics)."""
        with self._publishing:
            self._unpublished.append((event_type, data))
            if time.monotonic() - self._published_at >= settings.JOB_EVENTS_BATCH_SECONDS:
                self._publish()
                return
        _leases.publish_soon()

    def publish_due(self) -> None:
        """Publish the events left waiting, in one round trip."""
        with self._publishing:
            self._publish()

    def take_unpublished(self) -> list[tuple[str, dict[str, Any]]]:
        """The events left waiting, which the caller publishes (the end does, before its status event)."""
        with self._publishing:
            batch, self._unpublished = self._unpublished, []
        return batch

    def _publish(self) -> None:
        # Under self._publishing to the end of the round trip, so that batches reach the stream in order.
        if self._unpublished:
            events.publish_many(self.job_id, self._unpublished)
            self._unpublished = []
            self._published_at = time.monotonic()

    def check_cancelled(self) -> None:
        """Stop here if the job was cancelled or taken over. It asks the database each time (a training
        loop calls it before every step, and stops within a step of a cancel), and writes what is due."""
        self._write_if_due()
        if not self.cancel_heard.is_set() and services.job_cancel_requested(job_id=self.job_id):
            self.cancel_heard.set()
        self._stop_if_asked()

    def take_logs(self) -> list[str]:
        """The log lines not yet in the database, which the caller writes."""
        lines, self._logs = self._logs, []
        return lines

    def heard(self, job) -> None:
        """What a write of this attempt read back: None when another attempt owns the job."""
        if job is None:
            self.lost.set()
        elif job.cancel_requested:
            self.cancel_heard.set()

    def _write_if_due(self) -> None:
        """When a write is due: the latest progress and the lines since the last write, in one write
        that also reads whether the job was cancelled; else the lines alone."""
        if not self._write_due():
            return
        if self._progress is not None:
            (fraction, message), self._progress = self._progress, None
            self.heard(
                services.job_progress(
                    job_id=self.job_id, attempt=self.attempt, progress=fraction, message=message, logs=self.take_logs()
                )
            )
            return
        services.job_logs_write(job_id=self.job_id, attempt=self.attempt, lines=self.take_logs())

    def _write_due(self) -> bool:
        now = time.monotonic()
        if now - self._written_at < settings.JOB_WRITE_SECONDS:
            return False
        self._written_at = now
        return True

    def _stop_if_asked(self) -> None:
        if self.lost.is_set():
            raise JobLost()
        if self.cancel_heard.is_set():
            raise JobCancelled()


class _Leases:
    """Renews the leases of the jobs this process runs, from one thread, and tells a job when another
    attempt took it over or its owner asked to cancel it. The same thread publishes the events a job
    made and left waiting (JobContext.emit). (A thread per job cost a short job more than its own
    queries.)"""

    def __init__(self) -> None:
        self._running: dict[tuple[Any, int], JobContext] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._events_waiting = threading.Event()

    def hold(self, ctx: JobContext) -> None:
        with self._lock:
            self._running[(ctx.job_id, ctx.attempt)] = ctx
            # Started on first use, so in the pool's own process: a thread does not survive a fork.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve_forever, name="job-leases", daemon=True)
                self._thread.start()

    def release(self, ctx: JobContext) -> None:
        with self._lock:
            self._running.pop((ctx.job_id, ctx.attempt), None)

    def publish_soon(self) -> None:
        """A job left events waiting: publish them within JOB_EVENTS_BATCH_SECONDS."""
        self._events_waiting.set()

    def _serve_forever(self) -> None:
        """Renew every JOB_HEARTBEAT_SECONDS; publish waiting events within JOB_EVENTS_BATCH_SECONDS."""
        renew_at = time.monotonic() + settings.JOB_HEARTBEAT_SECONDS
        while True:
            if self._events_waiting.wait(timeout=max(renew_at - time.monotonic(), 0.0)):
                time.sleep(settings.JOB_EVENTS_BATCH_SECONDS)  # the batch's window, from its first waiting event
                self._events_waiting.clear()
                self._publish_waiting()
            if time.monotonic() >= renew_at:
                renew_at = time.monotonic() + settings.JOB_HEARTBEAT_SECONDS
                self._renew()

    def _publish_waiting(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for ctx in running:
            try:
                ctx.publish_due()
            except Exception:  # (an event that would not encode): this thread must go on renewing leases
                logger.exception("Could not publish the waiting events of job %s", ctx.job_id)

    def _renew(self) -> None:
        with self._lock:
            running = list(self._running.values())
        try:
            if not running:
                connection.close()  # an idle worker holds no connection for this thread
                return
            # As before a task: a connection that broke or grew old is replaced, not used again.
            close_old_connections()
            for ctx in running:
                ctx.heard(services.job_renew_lease(job_id=ctx.job_id, attempt=ctx.attempt))
                if ctx.lost.is_set():
                    self.release(ctx)
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
            raise self.retry(args=(job_id,), exc=error, countdown=2 ** min(self.request.retries, 5)) from error
        if job is None:
            logger.info("Job %s is not queued any more; nothing to do.", job_id)
            return None
        ctx = JobContext(job_id=job.id, attempt=job.attempt, params=job.params, owner_id=job.owner_id)
        _leases.hold(ctx)
        ctx.emit("status", services.status_state(job))  # "running": with the job's first batch of events
        ending = {"job_id": job.id, "attempt": job.attempt}
        try:
            result = self.run(ctx)
        except JobLost:
            logger.warning("Job %s attempt %s lost its lease; another attempt owns it.", job.id, job.attempt)
            services.job_logs_write(lines=ctx.take_logs(), **ending)
            ctx.publish_due()
        except JobCancelled:
            services.job_mark_cancelled(logs=ctx.take_logs(), unpublished=ctx.take_unpublished(), **ending)
        except SoftTimeLimitExceeded:
            services.job_fail(
                error="The job ran past its time limit.",
                logs=ctx.take_logs(),
                unpublished=ctx.take_unpublished(),
                **ending,
            )
        except ApplicationError as error:
            services.job_fail(error=error.message, logs=ctx.take_logs(), unpublished=ctx.take_unpublished(), **ending)
        except Exception as error:
            logger.exception("Job %s failed", job.id)
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            services.job_fail(error=detail, logs=ctx.take_logs(), unpublished=ctx.take_unpublished(), **ending)
        else:
            services.job_succeed(result=result, logs=ctx.take_logs(), unpublished=ctx.take_unpublished(), **ending)
        finally:
            _leases.release(ctx)
        return None


def job_task(
    name: str,
    *,
    params: type | None = None,
    public: bool = False,
    soft_time_limit: int | None = None,
    queue: str | None = None,
) -> Callable[[Callable[[JobContext], Any]], JobTask]:
    """Register a job kind: a function of a JobContext that returns the job's JSON result.

    `params` is the serializer that validates the job's input; `public` kinds may be submitted
    through the generic jobs API (others are submitted by their own layer's API); `queue` is where
    its jobs go unless they ask for GPUs (None: the default queue).
    """
    soft = soft_time_limit or settings.JOB_SOFT_TIME_LIMIT

    def decorate(function: Callable[[JobContext], Any]) -> JobTask:
        task = app.task(base=JobTask, name=f"jobs.{name}", job_kind=name, soft_time_limit=soft, time_limit=soft + 60)(
            function
        )
        register(JobKind(name=name, task_name=task.name, params=params, public=public, queue=queue))
        return task

    return decorate
