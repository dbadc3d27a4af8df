from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import OPERATORS


class DatasetsConfig(AppConfig):
    name = "tools_layer.datasets"
    label = "datasets"
    verbose_name = "Datasets"
    nav_items = [(_("Datasets"), "datasets", OPERATORS)]

    def ready(self) -> None:
        # Registers the import job kind, so the web process can submit it.
        from tools_layer.datasets import tasks  # noqa: F401
