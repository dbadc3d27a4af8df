"""Labeling API: projects, members, next-task, annotations, review, agreement, outputs sent for
rating, proposals, and export / pre-annotation Jobs."""

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.permissions import IsOperatorToWrite
from aigc_platform.accounts.selectors import request_api_key_prefix
from aigc_platform.core.errors import ApplicationError, PermissionDenied
from infrastructure.compute.serializers import JobStartedSerializer, job_started_response
from tools_layer.datasets import selectors as dataset_selectors
from tools_layer.labeling import selectors, services
from tools_layer.labeling.models import Annotation, SlotStatus, TaskSlot
from tools_layer.labeling.serializers import (
    AnnotationCreateSerializer,
    AnnotationSerializer,
    ExportSerializer,
    MemberSerializer,
    OutputsSerializer,
    PreannotateSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProposalsSerializer,
    ReviewSerializer,
)


def task_body(slot_or_task, *, user) -> dict:
    """A task as the labeling page shows it: content, proposal, the caller's own answer, its lock."""
    task = getattr(slot_or_task, "task", slot_or_task)
    # A slot locked for the caller is a task they have not answered: submitting marks the slot
    # submitted, and undo deletes the answer before locking the slot again. Only a task shown
    # without such a slot needs looking up.
    reserved = (
        isinstance(slot_or_task, TaskSlot)
        and slot_or_task.status == SlotStatus.LOCKED
        and slot_or_task.annotator_id == user.pk
    )
    mine = None if reserved else Annotation.objects.filter(task=task, annotator=user).exclude(status="rejected").first()
    return {
        "id": task.pk,
        "project": str(task.project_id),
        "item": task.item_id,
        "content": selectors.task_content(task=task),
        "proposal": task.proposal,
        "source": task.source,
        "locked_until": getattr(slot_or_task, "locked_until", None),
        "my_annotation": AnnotationSerializer(mine).data if mine else None,
    }


class ProjectListApi(ListAPIView):
    serializer_class = ProjectSerializer
    permission_classes = [IsOperatorToWrite]

    def get_queryset(self):
        return selectors.projects_visible_to(user=self.request.user)

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def post(self, request):
        """Create a project (operators): one task per item of `dataset_version`, or none for outputs sent later."""
        serializer = ProjectCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data["dataset_version"] is not None:
            data["dataset_version"] = dataset_selectors.dataset_version_get(
                user=request.user, pk=data["dataset_version"]
            )
        project = services.project_create(owner=request.user, **data)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    @extend_schema(responses=ProjectSerializer)
    def get(self, request, pk):
        project = selectors.project_get(user=request.user, pk=pk)
        return Response(
            {
                **ProjectSerializer(project).data,
                "progress": selectors.project_progress(project=project, user=request.user),
                "can_manage": selectors.can_manage(project=project, user=request.user),
            }
        )


class ProjectMembersApi(APIView):
    @extend_schema(request=MemberSerializer, responses=ProjectSerializer)
    def post(self, request, pk):
        """Give a user access as annotator or reviewer (the owner only)."""
        project = selectors.project_get_managed(user=request.user, pk=pk)
        serializer = MemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.project_member_set(project=project, **serializer.validated_data)
        return Response(ProjectSerializer(project).data)


class ProjectMemberApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, pk, username):
        project = selectors.project_get_managed(user=request.user, pk=pk)
        services.project_member_remove(project=project, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NextTaskApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(description="The task, reserved for the caller."),
            204: OpenApiResponse(description="Nothing left for the caller."),
        },
    )
    def post(self, request, pk):
        """Reserve and return the caller's next task; never the same task to two people at once
        (unless the project's overlap asks for more annotators per task). 204 when none is left."""
        project = selectors.project_get(user=request.user, pk=pk, related=False)
        slot = services.task_next(project=project, user=request.user)
        if slot is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(task_body(slot, user=request.user))


class ProjectProgressApi(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        project = selectors.project_get(user=request.user, pk=pk)
        return Response(selectors.project_progress(project=project, user=request.user))


class ProjectAgreementApi(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        """Percent agreement and Cohen's / Fleiss' kappa over the tasks answered by several people."""
        return Response(selectors.project_agreement(project=selectors.project_get(user=request.user, pk=pk)))


class ProjectAnnotationsApi(ListAPIView):
    serializer_class = AnnotationSerializer

    def get_queryset(self):
        project = selectors.project_get(user=self.request.user, pk=self.kwargs["pk"])
        if not selectors.can_review(project=project, user=self.request.user):
            raise PermissionDenied(gettext("Only the project's owner and reviewers see everyone's annotations."))
        return selectors.review_queue(project=project, status=self.request.query_params.get("status") or None)

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=["submitted", "accepted", "rejected"])])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProjectOutputsApi(APIView):
    @extend_schema(request=OutputsSerializer, responses={201: None})
    def post(self, request, pk):
        """Send generated outputs ({text} or {prompt, a, b}) to the project for rating."""
        project = selectors.project_get_managed(user=request.user, pk=pk)
        serializer = OutputsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tasks = services.outputs_send_for_rating(project=project, **serializer.validated_data)
        return Response({"tasks": [task.pk for task in tasks]}, status=status.HTTP_201_CREATED)


class ProjectProposalsApi(APIView):
    @extend_schema(request=ProposalsSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        """Pre-annotations from any source: proposed values annotators see and correct."""
        project = selectors.project_get_managed(user=request.user, pk=pk)
        serializer = ProposalsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = services.task_proposals_set(
            project=project, proposals={p["task"]: p["value"] for p in serializer.validated_data["proposals"]}
        )
        return Response({"proposed": count})


class ProjectPreannotateApi(APIView):
    @extend_schema(request=PreannotateSerializer, responses={202: JobStartedSerializer})
    def post(self, request, pk):
        """A Job (on the inference queue) in which a text generator proposes answers for the tasks that have
        neither a proposal nor an answer; annotators see each proposal highlighted and accept or correct it.
        Label, multi-label, rating, correction and pairwise projects over text."""
        project = selectors.project_get_managed(user=request.user, pk=pk)
        serializer = PreannotateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.project_preannotate_submit(
            project=project,
            user=request.user,
            **serializer.validated_data,
            api_key_prefix=request_api_key_prefix(request),
        )
        return job_started_response(job, ("project", project.pk))


class ProjectExportApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["jsonl", "csv", "dataset"])],
        request=ExportSerializer,
        responses={202: JobStartedSerializer},
    )
    def post(self, request, pk):
        """Export the consensus labels as a Job: a JSONL or CSV file in storage, or a new version of a dataset."""
        project = selectors.project_get_managed(user=request.user, pk=pk)
        serializer = ExportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fmt = data.get("format") or request.query_params.get("format") or "jsonl"
        target = (
            dataset_selectors.dataset_get(user=request.user, pk=data["target_dataset"])
            if data["target_dataset"]
            else None
        )
        job = services.project_export_submit(
            project=project, user=request.user, format=fmt, only_accepted=data["only_accepted"], target_dataset=target
        )
        return job_started_response(job, ("project", project.pk))


class TaskAnnotationsApi(APIView):
    @extend_schema(responses=AnnotationSerializer(many=True))
    def get(self, request, pk):
        """The task's annotations: everyone's for owners and reviewers, one's own for annotators."""
        task = selectors.task_get(user=request.user, pk=pk)
        annotations = task.annotations.select_related("annotator", "reviewed_by")
        if not selectors.can_review(project=task.project, user=request.user):
            annotations = annotations.filter(annotator=request.user)
        return Response(AnnotationSerializer(annotations, many=True).data)

    @extend_schema(request=AnnotationCreateSerializer, responses={201: AnnotationSerializer})
    def post(self, request, pk):
        """Submit (or, before review, replace) the caller's answer to the task."""
        task = selectors.task_get(user=request.user, pk=pk)
        serializer = AnnotationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        annotation = services.annotation_submit(task=task, user=request.user, **serializer.validated_data)
        return Response(AnnotationSerializer(annotation).data, status=status.HTTP_201_CREATED)


class TaskReleaseApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, pk):
        """Skip: give the reserved task back to the queue."""
        services.task_release(task=selectors.task_get(user=request.user, pk=pk), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskImageApi(APIView):
    @extend_schema(responses={(200, "image/png"): bytes})
    def get(self, request, pk):
        task = selectors.task_get(user=request.user, pk=pk, content=True)
        if task.item_id is None or task.item.dataset.kind != "image":
            raise ApplicationError(gettext("This task has no image."), code="not_an_image")
        response = HttpResponse(
            dataset_selectors.dataset_item_bytes(item=task.item), content_type=task.item.content_type
        )
        response["Cache-Control"] = "private, max-age=86400, immutable"
        return response


class AnnotationDetailApi(APIView):
    @extend_schema(responses={200: OpenApiResponse(description="The task, reserved for the caller again.")})
    def delete(self, request, pk):
        """Undo: withdraw one's own unreviewed annotation; returns the task, reserved for the caller again."""
        task = services.annotation_withdraw(
            annotation=selectors.annotation_get(user=request.user, pk=pk), user=request.user
        )
        slot = task.slots.filter(annotator=request.user).first()
        return Response(task_body(slot or task, user=request.user))


class AnnotationReviewApi(APIView):
    @extend_schema(request=ReviewSerializer, responses=AnnotationSerializer)
    def post(self, request, pk):
        """Accept or reject; a rejected task goes back to the queue."""
        serializer = ReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        annotation = services.annotation_review(
            annotation=selectors.annotation_get(user=request.user, pk=pk),
            reviewer=request.user,
            **serializer.validated_data,
        )
        return Response(AnnotationSerializer(annotation).data)
