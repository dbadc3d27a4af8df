"""The Job: one row per piece of long work, moved through its states by conditional updates."""

import uuid

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)  # no index: a user's jobs of a kind are found through their owner's
    # No index of its own: (owner, -created_at) below serves lookups by owner.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    params = models.JSONField(default=dict, blank=True, help_text="The job's input, as its kind validated it.")

    # No index of its own: the lookups by status are of live jobs, which (status, heartbeat_at) below serves.
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    queue = models.CharField(max_length=100, default="default")
    worker = models.CharField(max_length=255, blank=True, help_text="The worker running or last running it.")
    attempt = models.PositiveIntegerField(default=0, help_text="How many times a worker has started it.")
    max_attempts = models.PositiveIntegerField(default=3)
    cancel_requested = models.BooleanField(default=False)
    gpus = models.PositiveIntegerField(default=0)
    min_gpu_memory_mb = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Renewed by the running worker.")

    class Meta:
        ordering = ["-created_at"]
        # Every index of a row is written again at each change of its status (its insert, claim and
        # end): no more than the lists and the sweeps need. The sweeps look for live jobs only, so
        # their index holds only those, and an ended job leaves it.
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(
                fields=["status", "heartbeat_at"],
                name="compute_job_live_idx",
                condition=models.Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=1), name="job_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class JobLog(models.Model):
    """Log lines a job wrote, kept after its live event stream expires."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="logs")
    created_at = models.DateTimeField(auto_now_add=True)
    attempt = models.PositiveIntegerField(default=0)
    line = models.TextField()

    class Meta:
        ordering = ["id"]


class WorkerStatus(models.TextChoices):
    ONLINE = "online"
    DRAINING = "draining"
    OFFLINE = "offline"


class Worker(models.Model):
    """A Celery worker process as it registered itself, renewed by its heartbeat."""

    name = models.CharField(max_length=255, unique=True, help_text="Celery node name, e.g. gpu1@host.")
    hostname = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=WorkerStatus.choices, default=WorkerStatus.ONLINE, db_index=True)
    queues = models.JSONField(default=list, help_text="Queues it consumes, its own queue included.")
    own_queue = models.CharField(max_length=300, help_text="The queue only this worker consumes (GPU routing).")
    cpu_count = models.PositiveIntegerField(default=0)
    ram_mb = models.PositiveIntegerField(default=0)
    concurrency = models.PositiveIntegerField(default=1)
    gpus = models.JSONField(
        default=list, help_text="[{index, name, total_mb, free_mb, utilization, compute_capability}]"
    )
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"
