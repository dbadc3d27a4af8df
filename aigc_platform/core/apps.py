from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import EVERYONE


class CoreConfig(AppConfig):
    name = "aigc_platform.core"
    label = "core"
    verbose_name = "Platform core"
    nav_items = [(_("Dashboard"), "dashboard", EVERYONE)]

    def ready(self) -> None:
        from aigc_platform.core import checks  # noqa: F401 (registers the deploy checks)
