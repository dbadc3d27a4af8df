from django.apps import AppConfig

from aigc_platform.core.navigation import EVERYONE


class CoreConfig(AppConfig):
    name = "aigc_platform.core"
    label = "core"
    verbose_name = "Platform core"
    nav_items = [("Dashboard", "dashboard", EVERYONE)]
