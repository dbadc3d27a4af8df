from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from aigc_platform.core.navigation import EVERYONE, OPERATORS


class ComputeConfig(AppConfig):
    name = "infrastructure.compute"
    label = "compute"
    verbose_name = "Compute: jobs and workers"
    nav_items = [(_("Jobs"), "jobs", EVERYONE), (_("Workers"), "workers", OPERATORS)]

    def ready(self) -> None:
        # Registers the job kinds (so the web process can validate and submit them) and the
        # worker hooks (registration, heartbeat), which only fire inside a Celery worker.
        from aigc_platform.core import health
        from infrastructure.compute import tasks, worker_process  # noqa: F401
        from infrastructure.compute.selectors import workers_findings, workers_health

        health.register("workers", workers_health, deep=workers_findings, needs=("database",))
