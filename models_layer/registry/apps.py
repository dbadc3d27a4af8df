"""The generator registry: generators, their versions, model cards and stages."""
from django.apps import AppConfig

from aigc_platform.core.navigation import EVERYONE


class RegistryConfig(AppConfig):
    name = "models_layer.registry"
    label = "registry"
    verbose_name = "Generator registry"
    nav_items = [("Generators", "generators", EVERYONE), ("Playground", "playground", EVERYONE)]

    def ready(self) -> None:
        # Registers the `generate` and validation job kinds, so the web process can submit them.
        from models_layer.registry import tasks  # noqa: F401
