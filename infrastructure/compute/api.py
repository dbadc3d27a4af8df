"""Jobs API (list, submit public kinds, detail, cancel, retry, live events over SSE) and the
workers API (list, drain, resume, queue lengths)."""

import json

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.authentication import request_user
from aigc_platform.accounts.permissions import IsOperator
from aigc_platform.accounts.roles import OPERATOR, user_has_role
from aigc_platform.core.api import OwnedObjectMixin
from aigc_platform.core.errors import ApplicationError, NotFound, PermissionDenied, json_error_response
from infrastructure.compute import events, selectors, services
from infrastructure.compute.kinds import job_kind
from infrastructure.compute.models import TERMINAL_STATUSES, JobStatus, Worker
from infrastructure.compute.serializers import (
    JobDetailSerializer,
    JobSerializer,
    JobStartedSerializer,
    JobSubmitSerializer,
    WorkerSerializer,
    job_started_response,
)


class JobListApi(ListAPIView):
    serializer_class = JobSerializer

    def get_queryset(self):
        jobs = selectors.jobs_visible_to(user=self.request.user)
        status_filter = self.request.query_params.get("status")
        if status_filter:
            if status_filter not in JobStatus.values:
                raise ApplicationError(
                    gettext("Unknown status %(status_filter)r.") % {"status_filter": status_filter},
                    fields={"status": [gettext("One of %(names)s.") % {"names": ", ".join(JobStatus.values)}]},
                )
            jobs = jobs.filter(status=status_filter)
        if kind := self.request.query_params.get("kind"):
            jobs = jobs.filter(kind=kind)
        return jobs

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=JobStatus.values),
            OpenApiParameter("kind", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=JobSubmitSerializer, responses={202: JobStartedSerializer})
    def post(self, request):
        """Submit a job of a generic kind (such as `echo`); each layer's own API submits its kinds."""
        serializer = JobSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        kind = job_kind(data["kind"])
        if kind is None or not kind.public:
            raise ApplicationError(
                gettext("Jobs of kind %(kind)r cannot be submitted here.") % {"kind": data["kind"]},
                fields={"kind": [gettext("Not a public job kind.")]},
            )
        if ("queue" in data or data["gpus"] or data["min_gpu_memory_mb"]) and not user_has_role(request.user, OPERATOR):
            # A GPU request routes the job into one GPU worker's own queue: a creator's generic job has no use for it.
            fields = {name: ["Leave it out."] for name in ("queue", "gpus", "min_gpu_memory_mb") if data.get(name)}
            raise PermissionDenied(
                gettext(
                    "Only operators and admins choose a job's queue or ask for GPUs here; the platform picks "
                    "the queue from the job's kind and resources."
                ),
                fields=fields,
            )
        queue = services.job_queue_check(queue=data["queue"]) if "queue" in data else None
        job = services.job_submit(
            owner=request.user,
            kind=kind.name,
            params=data["params"],
            queue=queue,
            gpus=data["gpus"],
            min_gpu_memory_mb=data["min_gpu_memory_mb"],
        )
        return job_started_response(job)


JOB_NOT_FOUND = gettext_lazy("No job with id %(pk)s.")


class JobDetailApi(OwnedObjectMixin, APIView):
    not_found_message = JOB_NOT_FOUND

    @extend_schema(responses=JobDetailSerializer)
    def get(self, request, pk):
        job = self.get_owned_object(selectors.jobs_visible_to(user=request.user), pk, request)
        return Response(JobDetailSerializer(job).data)


class JobCancelApi(OwnedObjectMixin, APIView):
    not_found_message = JOB_NOT_FOUND

    @extend_schema(request=None, responses=JobSerializer)
    def post(self, request, pk):
        job = self.get_owned_object(selectors.jobs_visible_to(user=request.user), pk, request)
        return Response(JobSerializer(services.job_cancel(job=job)).data)


class JobRetryApi(OwnedObjectMixin, APIView):
    not_found_message = JOB_NOT_FOUND

    @extend_schema(request=None, responses={202: JobStartedSerializer})
    def post(self, request, pk):
        """Queue a failed or cancelled job again, as the same job (a training run resumes from its last checkpoint)."""
        job = self.get_owned_object(selectors.jobs_visible_to(user=request.user), pk, request)
        return job_started_response(services.job_retry(job=job))


class WorkerListApi(ListAPIView):
    """Every registered worker, its GPUs, queues and current jobs (operators and admins)."""

    permission_classes = [IsOperator]
    serializer_class = WorkerSerializer

    def get_queryset(self):
        return selectors.workers_all()


class WorkerDetailApi(APIView):
    permission_classes = [IsOperator]

    def get_worker(self, pk) -> Worker:
        worker = selectors.workers_all().filter(pk=pk).first()
        if worker is None:
            raise NotFound(gettext("No worker with id %(pk)s.") % {"pk": pk})
        return worker

    @extend_schema(responses=WorkerSerializer)
    def get(self, request, pk: int):
        return Response(WorkerSerializer(self.get_worker(pk)).data)


class WorkerDrainApi(WorkerDetailApi):
    @extend_schema(request=None, responses=WorkerSerializer)
    def post(self, request, pk: int):
        """Running jobs finish; the worker takes no new ones."""
        return Response(WorkerSerializer(services.worker_drain(worker=self.get_worker(pk))).data)


class WorkerResumeApi(WorkerDetailApi):
    @extend_schema(request=None, responses=WorkerSerializer)
    def post(self, request, pk: int):
        return Response(WorkerSerializer(services.worker_resume(worker=self.get_worker(pk))).data)


class QueueListApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        responses=inline_serializer("QueueLengths", {"queues": serializers.DictField(child=serializers.IntegerField())})
    )
    def get(self, request):
        """Messages waiting in each queue."""
        return Response({"queues": selectors.queue_lengths()})


def _sse(event_type: str, data, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event_type}\ndata: {json.dumps(data, default=str)}\n\n"


def _job_snapshot(user, pk) -> dict | None:
    job = selectors.jobs_visible_to(user=user).filter(pk=pk).first()
    return JobSerializer(job).data if job else None


async def _event_stream(user, pk, last_event_id: str):
    """The job as it is now, then every event after `last_event_id` until the job ends."""
    snapshot = await sync_to_async(_job_snapshot)(user, pk)
    yield "retry: 2000\n\n" + _sse("snapshot", snapshot)
    # An ended job's stream is only replayed, so waiting long for more is pointless.
    block_ms = 500 if snapshot["status"] in TERMINAL_STATUSES else 10_000
    async for event in events.follow(pk, after=last_event_id, block_ms=block_ms):
        if event is None:
            # Nothing for a while: the stream may have missed the end (Redis restarted), so ask the database.
            snapshot = await sync_to_async(_job_snapshot)(user, pk)
            if snapshot is None or snapshot["status"] in TERMINAL_STATUSES:
                yield _sse("status", snapshot)
                return
            yield ": keep-alive\n\n"
            continue
        event_id, event_type, data = event
        yield _sse(event_type, data, event_id)
        if event_type == "status" and data.get("status") in TERMINAL_STATUSES:
            return


async def job_events(request, pk):
    """Server-sent events: `snapshot`, then `status`, `progress`, `log` and `token` events until the job ends.
    Reconnecting with `Last-Event-ID` resumes after the last event seen."""
    user = await sync_to_async(request_user)(request)
    if user is None:
        return json_error_response("not_authenticated", gettext("Authentication credentials were not provided."), 401)
    if await sync_to_async(_job_snapshot)(user, pk) is None:
        return json_error_response("not_found", JOB_NOT_FOUND % {"pk": pk}, 404)
    last_event_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "0"
    response = StreamingHttpResponse(_event_stream(user, pk, last_event_id), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
