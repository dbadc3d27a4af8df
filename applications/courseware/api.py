"""Courseware API: lessons (→ Job), the creator's lessons, slide and question edits, one slide
written again (→ Job), and exports."""
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.core.errors import ApplicationError
from applications.api import FileDownloadMixin
from applications.courseware import exports, selectors, services
from applications.courseware.serializers import (
    LessonJobSerializer,
    LessonRequestSerializer,
    LessonSerializer,
    QuestionUpdateSerializer,
    SlideUpdateSerializer,
)
from infrastructure.compute.serializers import JobSerializer


class LessonListApi(ListAPIView):
    """The caller's lessons, newest first."""

    serializer_class = LessonSerializer

    def get_queryset(self):
        return selectors.lessons_visible_to(user=self.request.user)

    @extend_schema(request=LessonRequestSerializer, responses={201: LessonJobSerializer})
    def post(self, request):
        """Queue a lesson; the answer is its Job (plus `lesson_id`), whose result is `{lesson_plan,
        slides: [{title, bullets, notes}], quiz: [{question, choices, answer, explanation}], checks}`.
        Follow `/api/v1/jobs/{id}/events/` for `token` events and a `section` event per finished item."""
        serializer = LessonRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lesson = services.lesson_submit(user=request.user, **serializer.validated_data)
        return Response({**JobSerializer(lesson.job).data, "lesson_id": lesson.pk}, status=status.HTTP_201_CREATED)


class LessonDetailApi(APIView):
    @extend_schema(responses=LessonSerializer)
    def get(self, request, pk: int):
        return Response(LessonSerializer(selectors.lesson_get(user=request.user, pk=pk)).data)


class SlideDetailApi(APIView):
    @extend_schema(request=SlideUpdateSerializer, responses=LessonSerializer)
    def patch(self, request, pk: int, index: int):
        """Edit slide `index` (from 0) in place; its checks run again. Answers the whole lesson."""
        lesson = selectors.lesson_get(user=request.user, pk=pk)
        serializer = SlideUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lesson = services.slide_update(lesson=lesson, user=request.user, index=index, **serializer.validated_data)
        return Response(LessonSerializer(lesson).data)


class SlideRegenerateApi(APIView):
    @extend_schema(request=None, responses={201: JobSerializer})
    def post(self, request, pk: int, index: int):
        """Write slide `index` again with the generator (→ Job whose result is `{slide, checks, passed, attempts}`)."""
        lesson = selectors.lesson_get(user=request.user, pk=pk)
        job = services.slide_regenerate_submit(lesson=lesson, user=request.user, index=index)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class QuestionDetailApi(APIView):
    @extend_schema(request=QuestionUpdateSerializer, responses=LessonSerializer)
    def patch(self, request, pk: int, index: int):
        """Edit quiz question `index` (from 0); four different choices and the answer among them stay required."""
        lesson = selectors.lesson_get(user=request.user, pk=pk)
        serializer = QuestionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lesson = services.question_update(lesson=lesson, user=request.user, index=index, **serializer.validated_data)
        return Response(LessonSerializer(lesson).data)


class LessonExportApi(FileDownloadMixin, APIView):
    @extend_schema(parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS))],
                   responses={(200, media_type): bytes for media_type in exports.CONTENT_TYPES.values()})
    def get(self, request, pk: int):
        """The lesson as PPTX (slides with speaker notes), Markdown, PDF, or the quiz in Moodle GIFT
        (`?format=pptx|md|pdf|gift`); each carries an AI-generated disclosure."""
        lesson = selectors.lesson_get(user=request.user, pk=pk)
        fmt = request.query_params.get("format", "pptx")
        if fmt not in exports.FORMATS:
            raise ApplicationError(f"Unknown format {fmt!r}.", fields={"format": [f"One of {', '.join(exports.FORMATS)}."]})
        if not lesson.slides:
            raise ApplicationError("The lesson has no slides yet; wait for its job to finish.", code="not_ready")
        body, content_type = exports.FORMATS[fmt](lesson)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{exports.filename(lesson, fmt)}"'
        return response
