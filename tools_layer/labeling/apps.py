from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import EVERYONE


class LabelingConfig(AppConfig):
    name = "tools_layer.labeling"
    label = "labeling"
    verbose_name = "Labeling"
    nav_items = [(_("Labeling"), "labeling", EVERYONE)]

    def ready(self) -> None:
        # Registers the export and pre-annotation job kinds, so the web process can submit them.
        from tools_layer.labeling import tasks  # noqa: F401
