"""Courseware API: lessons (→ Job), the creator's lessons, slide and question edits, one slide
written again (→ Job), and exports."""

from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.selectors import request_api_key_prefix
from aigc_platform.core.errors import ApplicationError
from applications.api import FileDownloadMixin, ItemVerdictSerializer
from applications.courseware import exports, selectors, services
from applications.courseware.serializers import (
    LessonJobSerializer,
    LessonRequestSerializer,
    LessonSerializer,
    QuestionUpdateSerializer,
    SlideUpdateSerializer,
)
from infrastructure.compute.serializers import JobStartedSerializer, job_started_response
from infrastructure.provenance.services import PROVENANCE_HEADER


class LessonListApi(ListAPIView):
    """The caller's lessons, newest first."""

    serializer_class = LessonSerializer

    def get_queryset(self):
        return selectors.lessons_visible_to(user=self.request.user)

    @extend_schema(request=LessonRequestSerializer, responses={202: LessonJobSerializer})
    def post(self, request):
        """Queue a lesson; the answer is its Job (the lesson in `object`), whose result is `{lesson_plan,
        slides: [{title, bullets, notes}], quiz: [{question, choices, answer, explanation}], checks}`.
        Follow `/api/v1/jobs/{id}/events/` for `token` events and a `section` event per finished item."""
        serializer = LessonRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lesson = services.lesson_submit(
            user=request.user, **serializer.validated_data, api_key_prefix=request_api_key_prefix(request)
        )
        return job_started_response(lesson.job, ("lesson", lesson.pk), extra={"lesson_id": lesson.pk})


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
    @extend_schema(request=None, responses={202: JobStartedSerializer})
    def post(self, request, pk: int, index: int):
        """Write slide `index` again with the generator (→ Job whose result is `{slide, checks, passed, attempts}`)."""
        lesson = selectors.lesson_get(user=request.user, pk=pk)
        job = services.slide_regenerate_submit(
            lesson=lesson, user=request.user, index=index, api_key_prefix=request_api_key_prefix(request)
        )
        return job_started_response(job, ("lesson", lesson.pk))


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
    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(exports.FORMATS))],
        responses={(200, media_type): bytes for media_type in exports.CONTENT_TYPES.values()},
    )
    def get(self, request, pk: int):
        """The lesson as PPTX (slides with speaker notes), Markdown, PDF, or the quiz in Moodle GIFT
        (`?format=pptx|md|pdf|gift`); each carries an AI-generated disclosure, and the id of the export's
        provenance record (also in the X-Provenance-Id header; PPTX dc:identifier, PDF XMP, front matter)."""
        lesson = selectors.lesson_get(user=request.user, pk=pk)
        fmt = request.query_params.get("format", "pptx")
        if fmt not in exports.FORMATS:
            raise ApplicationError(
                gettext("Unknown format %(format)s.") % {"format": fmt},
                fields={"format": [gettext("One of %(formats)s.") % {"formats": ", ".join(exports.FORMATS)}]},
            )
        if not lesson.slides:
            raise ApplicationError(
                gettext("The lesson has no slides yet; wait for its job to finish."), code="not_ready"
            )
        record = services.lesson_export_record(lesson=lesson, fmt=fmt, media_type=exports.CONTENT_TYPES[fmt])
        with translation.override(exports.language_of(lesson)):
            body, content_type = exports.FORMATS[fmt](lesson, provenance_id=record.pk)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{exports.filename(lesson, fmt)}"'
        response[PROVENANCE_HEADER] = str(record.pk)
        return response


class ItemReviewApi(APIView):
    section = ""

    @extend_schema(request=ItemVerdictSerializer, responses=LessonSerializer)
    def post(self, request, pk: int, index: int):
        """Accept or reject the item (`{"verdict": "accepted"|"rejected", "reason"}`; a rejection needs a reason).
        The verdict goes to labelling as a judgement and shows in the item's checks entry as `review`."""
        lesson = selectors.lesson_get(user=request.user, pk=pk)
        serializer = ItemVerdictSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lesson = services.item_review(
            lesson=lesson, user=request.user, section=self.section, index=index, **serializer.validated_data
        )
        return Response(LessonSerializer(lesson).data)


class SlideReviewApi(ItemReviewApi):
    section = "slides"


class QuestionReviewApi(ItemReviewApi):
    section = "quiz"


class QuestionRegenerateApi(APIView):
    @extend_schema(request=None, responses={202: JobStartedSerializer})
    def post(self, request, pk: int, index: int):
        """Write quiz question `index` again with the generator (→ Job whose result is `{question, checks, passed, attempts}`)."""
        lesson = selectors.lesson_get(user=request.user, pk=pk)
        job = services.question_regenerate_submit(
            lesson=lesson, user=request.user, index=index, api_key_prefix=request_api_key_prefix(request)
        )
        return job_started_response(job, ("lesson", lesson.pk))
