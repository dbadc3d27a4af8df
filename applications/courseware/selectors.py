"""Reads for courseware."""
from django.db.models import QuerySet

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import NotFound
from applications.courseware.models import Lesson


def lessons_visible_to(*, user) -> QuerySet[Lesson]:
    """A creator's own lessons, newest first (staff see everyone's)."""
    return owned_by(Lesson.objects.select_related("job"), user)


def lesson_get(*, user, pk) -> Lesson:
    lesson = lessons_visible_to(user=user).filter(pk=pk).first()
    if lesson is None:
        raise NotFound(f"No lesson with id {pk}.")
    return lesson
