"""Request and response shapes of the jobs API, and the one answer of every endpoint that starts a job."""

from typing import Any

from django.urls import reverse
from rest_framework import serializers, status
from rest_framework.response import Response

from aigc_platform.core.serializers import StrictSerializer
from infrastructure.compute.models import Job, JobLog, Worker
from infrastructure.compute.selectors import job_logs, worker_running_jobs


class JobSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "result",
            "error",
            "owner",
            "params",
            "queue",
            "worker",
            "attempt",
            "max_attempts",
            "cancel_requested",
            "gpus",
            "min_gpu_memory_mb",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
        ]
        read_only_fields = fields


class MadeObjectSerializer(serializers.Serializer):
    type = serializers.CharField(
        help_text="What it is: evaluation, training_run, generation, lesson, variant, dataset, …"
    )
    id = serializers.CharField(help_text="Its id (as a string), for that resource's own endpoint.")


class JobStartedSerializer(JobSerializer):
    """The answer of every endpoint that starts a job (202 Accepted, `Location: /api/v1/jobs/{id}/`): the Job, and
    the object the request made, or the one the job works on (null for a generic job). Follow the job at
    /api/v1/jobs/{id}/events/."""

    object = MadeObjectSerializer(read_only=True, allow_null=True)

    class Meta(JobSerializer.Meta):
        fields = JobSerializer.Meta.fields + ["object"]
        read_only_fields = fields


def job_started_response(
    job, made: tuple[str, Any] | None = None, *, extra: dict | None = None, status_code: int = status.HTTP_202_ACCEPTED
) -> Response:
    """A job-starting endpoint's answer: the Job's fields, `object` {type, id} for `made` (a (type, id) pair), and a
    Location header to the job. `extra` carries fields an endpoint answered before this shape (kept for clients)."""
    body = {
        **JobSerializer(job).data,
        "object": {"type": made[0], "id": str(made[1])} if made else None,
        **(extra or {}),
    }
    return Response(body, status=status_code, headers={"Location": reverse("job-detail", kwargs={"pk": job.pk})})


class JobLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobLog
        fields = ["created_at", "attempt", "line"]


class JobDetailSerializer(JobSerializer):
    logs = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = JobSerializer.Meta.fields + ["logs"]

    def get_logs(self, job) -> list[dict]:
        return JobLogSerializer(job_logs(job=job), many=True).data


class JobSubmitSerializer(StrictSerializer):
    kind = serializers.CharField(max_length=64)
    params = serializers.DictField(required=False, default=dict)
    queue = serializers.CharField(
        max_length=100,
        required=False,
        help_text="Operators and admins only, and only a queue that exists (GET /api/v1/queues/). Leave it out: the "
        "platform picks the queue from the job's kind and the resources it asks for.",
    )
    gpus = serializers.IntegerField(
        min_value=0, max_value=64, required=False, default=0, help_text="Operators and admins only."
    )
    min_gpu_memory_mb = serializers.IntegerField(
        min_value=0, required=False, default=0, help_text="Operators and admins only."
    )


class WorkerSerializer(serializers.ModelSerializer):
    running_jobs = serializers.SerializerMethodField()

    class Meta:
        model = Worker
        fields = [
            "id",
            "name",
            "hostname",
            "status",
            "queues",
            "own_queue",
            "cpu_count",
            "ram_mb",
            "concurrency",
            "gpus",
            "pid",
            "started_at",
            "last_heartbeat_at",
            "running_jobs",
        ]
        read_only_fields = fields

    def get_running_jobs(self, worker) -> list[dict]:
        return [
            {"id": str(job.id), "kind": job.kind, "progress": job.progress}
            for job in worker_running_jobs(worker=worker)
        ]
