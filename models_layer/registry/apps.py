"""The generator registry: generators, their versions, model cards and stages."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import EVERYONE


class RegistryConfig(AppConfig):
    name = "models_layer.registry"
    label = "registry"
    verbose_name = "Generator registry"
    nav_items = [(_("Generators"), "generators", EVERYONE), (_("Playground"), "playground", EVERYONE)]

    def ready(self) -> None:
        # Registers the `generate` and validation job kinds, so the web process can submit them.
        from models_layer.registry import tasks  # noqa: F401
        from models_layer.registry.selectors import default_text_version, remote_version_config
        from models_layer.runtime import version_source_register

        # The runtime sits below the registry: it learns here how to find versions instead of importing it.
        version_source_register(
            default_text_version=default_text_version,
            remote_config=lambda version: remote_version_config(version=version),
        )
