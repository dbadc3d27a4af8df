from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import EVERYONE


class StorageConfig(AppConfig):
    name = "infrastructure.storage"
    label = "storage"
    verbose_name = "Object storage"
    nav_items = [(_("Storage"), "storage", EVERYONE)]

    def ready(self) -> None:
        from aigc_platform.core import health
        from infrastructure.storage.selectors import storage_health
        from infrastructure.storage.services import storage_probe

        health.register("storage", storage_health, deep=storage_probe)
