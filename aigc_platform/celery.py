"""The one Celery app that every layer's tasks register on; configured from Django settings."""
import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")

app = Celery("aigc_platform", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def close_stale_db_connections(task, **kwargs) -> None:
    """Before each task, what Django does before each request: drop a database connection that broke
    or outlived CONN_MAX_AGE, and check a kept one on first use (CONN_HEALTH_CHECKS). Celery's own
    fixup closes every connection after every task unless CELERY_DB_REUSE_MAX (settings) says otherwise.
    Eager tasks run inside their caller's transaction, which this must not close."""
    if getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
