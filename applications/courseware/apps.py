"""Courseware: lesson plans, slides and quizzes, with exports."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import EVERYONE


class CoursewareConfig(AppConfig):
    name = "applications.courseware"
    label = "courseware"
    verbose_name = "Courseware"
    nav_items = [(_("Courseware"), "courseware", EVERYONE)]
    # Offered to blind comparisons of generators (tools_layer.arena finds it on this config).
    arena_prompt_label = _("Recent courseware requests")

    def arena_prompts(self, *, user, limit: int) -> list[str]:
        """The prompts of `user`'s recent lessons, for a blind comparison of generators."""
        from applications.courseware.selectors import lesson_prompts_recent

        return lesson_prompts_recent(user=user, limit=limit)

    def ready(self) -> None:
        # Registers the job kinds so the web process can submit them.
        from applications.courseware import tasks  # noqa: F401
