"""Request and response shapes of the jobs API."""
from rest_framework import serializers

from aigc_platform.core.serializers import StrictSerializer
from infrastructure.compute.models import Job, JobLog, Worker
from infrastructure.compute.selectors import job_logs, worker_running_jobs


class JobSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "progress", "message", "result", "error", "owner", "params",
            "queue", "worker", "attempt", "max_attempts", "cancel_requested", "gpus", "min_gpu_memory_mb",
            "created_at", "started_at", "finished_at", "heartbeat_at",
        ]
        read_only_fields = fields


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
    queue = serializers.CharField(max_length=100, required=False, default="default")
    gpus = serializers.IntegerField(min_value=0, max_value=64, required=False, default=0)
    min_gpu_memory_mb = serializers.IntegerField(min_value=0, required=False, default=0)


class WorkerSerializer(serializers.ModelSerializer):
    running_jobs = serializers.SerializerMethodField()

    class Meta:
        model = Worker
        fields = [
            "id", "name", "hostname", "status", "queues", "own_queue", "cpu_count", "ram_mb", "concurrency",
            "gpus", "pid", "started_at", "last_heartbeat_at", "running_jobs",
        ]
        read_only_fields = fields

    def get_running_jobs(self, worker) -> list[dict]:
        return [
            {"id": str(job.id), "kind": job.kind, "progress": job.progress}
            for job in worker_running_jobs(worker=worker)
        ]
