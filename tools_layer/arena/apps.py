"""Blind comparisons of text generator versions (an arena)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import OPERATORS


class ArenaConfig(AppConfig):
    name = "tools_layer.arena"
    label = "arena"
    verbose_name = "Blind comparisons"
    nav_items = [(_("Comparisons"), "comparisons", OPERATORS)]

    def ready(self) -> None:
        # Registers the comparison job kind, so the web process can submit it.
        from models_layer.registry.services import promotion_citation_source_register
        from tools_layer.arena import tasks  # noqa: F401
        from tools_layer.arena.selectors import comparison_citation

        # The registry sits below this layer: it learns here how to cite a comparison in a promotion.
        promotion_citation_source_register(comparison_citation)
