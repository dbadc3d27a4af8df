"""Moderation: word lists, regular expressions and classifier generators that every input and output
passes (the generate API, the playground, /v1/, the applications)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import OPERATORS


class ModerationConfig(AppConfig):
    name = "models_layer.moderation"
    label = "moderation"
    verbose_name = "Moderation"
    default_auto_field = "django.db.models.BigAutoField"
    nav_items = [(_("Moderation"), "moderation", OPERATORS)]

    def ready(self) -> None:
        # Registers the `moderation-classify` job kind, so the web process can submit it.
        from models_layer.moderation import tasks  # noqa: F401
