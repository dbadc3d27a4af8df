"""Reads for courseware."""

from django.db.models import QuerySet
from django.utils.translation import gettext

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import NotFound
from applications.courseware import authoring
from applications.courseware.models import Lesson


def lessons_visible_to(*, user) -> QuerySet[Lesson]:
    """A creator's own lessons, newest first (staff see everyone's)."""
    return owned_by(Lesson.objects.select_related("job"), user)


def lesson_get(*, user, pk) -> Lesson:
    lesson = lessons_visible_to(user=user).filter(pk=pk).first()
    if lesson is None:
        raise NotFound(gettext("No lesson with id %(id)s.") % {"id": pk})
    return lesson


def lesson_prompts_recent(*, user, limit: int) -> list[str]:
    """The requests of `user`'s latest lessons (everyone's for staff), newest first, each as the
    prompt that asks for its lesson plan: the prompts a blind comparison of generators answers
    (tools_layer.arena reads them through CoursewareConfig.arena_prompts)."""
    return [
        authoring.lesson_plan_prompt(
            authoring.Brief(
                topic=lesson.topic,
                grade_level=lesson.grade_level,
                objectives=list(lesson.objectives),
                language=lesson.language,
                slide_count=lesson.slide_count,
                quiz_questions=lesson.quiz_questions,
            )
        )
        for lesson in lessons_visible_to(user=user).order_by("-created_at")[:limit]
    ]
