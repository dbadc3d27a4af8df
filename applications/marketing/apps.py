from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import EVERYONE


class MarketingConfig(AppConfig):
    name = "applications.marketing"
    label = "marketing"
    verbose_name = "Marketing copy"
    nav_items = [(_("Marketing"), "marketing", EVERYONE)]
    # Offered to blind comparisons of generators (tools_layer.arena finds it on this config).
    arena_prompt_label = _("Recent marketing requests")

    def arena_prompts(self, *, user, limit: int) -> list[str]:
        """The prompts of `user`'s recent marketing requests, for a blind comparison of generators."""
        from applications.marketing.selectors import generation_prompts_recent

        return generation_prompts_recent(user=user, limit=limit)

    def ready(self) -> None:
        # Registers the generation job kind so the web process can submit it.
        from applications.marketing import tasks  # noqa: F401
