"""Courseware: lesson plans, slides and quizzes, with exports."""
from django.apps import AppConfig

from aigc_platform.core.navigation import EVERYONE


class CoursewareConfig(AppConfig):
    name = "applications.courseware"
    label = "courseware"
    verbose_name = "Courseware"
    nav_items = [("Courseware", "courseware", EVERYONE)]

    def ready(self) -> None:
        # Registers the job kinds so the web process can submit them.
        from applications.courseware import tasks  # noqa: F401
