from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import OPERATORS


class EvaluationConfig(AppConfig):
    name = "tools_layer.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation"
    nav_items = [(_("Evaluations"), "evaluations", OPERATORS)]

    def ready(self) -> None:
        # Registers the evaluation job kind, so the web process can submit it.
        from tools_layer.evaluation import tasks  # noqa: F401
