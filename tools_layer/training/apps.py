from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import OPERATORS


class TrainingConfig(AppConfig):
    name = "tools_layer.training"
    label = "training"
    verbose_name = "Training"
    nav_items = [(_("Training"), "training", OPERATORS)]

    def ready(self) -> None:
        from celery.signals import worker_init

        # Registers the training job kind, so the web process can submit it.
        from tools_layer.training import tasks  # noqa: F401
        from tools_layer.training.architectures import register_architectures

        worker_init.connect(register_architectures, weak=False)
