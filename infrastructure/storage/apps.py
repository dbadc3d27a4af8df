from django.apps import AppConfig

from aigc_platform.core.navigation import EVERYONE


class StorageConfig(AppConfig):
    name = "infrastructure.storage"
    label = "storage"
    verbose_name = "Object storage"
    nav_items = [("Storage", "storage", EVERYONE)]

    def ready(self) -> None:
        from aigc_platform.core import health
        from infrastructure.storage.selectors import storage_health

        health.register("storage", storage_health)
