from django.apps import AppConfig

from aigc_platform.core.navigation import EVERYONE


class MarketingConfig(AppConfig):
    name = "applications.marketing"
    label = "marketing"
    verbose_name = "Marketing copy"
    nav_items = [("Marketing", "marketing", EVERYONE)]

    def ready(self) -> None:
        # Registers the generation job kind so the web process can submit it.
        from applications.marketing import tasks  # noqa: F401
