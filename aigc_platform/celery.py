"""The one Celery app that every layer's tasks register on; configured from Django settings."""

import os
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_platform.settings")

app = Celery("aigc_platform", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# A connection that served a task this recently is not checked again before the next one: the check
# is a round trip, as many as a one-step job's own statements. A connection that broke meanwhile
# fails its task's first statement, which marks it for closing; job claims retry (JobTask).
HEALTH_CHECK_AFTER_IDLE_SECONDS = 1.0
_last_task_ended = float("-inf")


@task_prerun.connect
def close_stale_db_connections(task, **kwargs) -> None:
    """Before each task, what Django does before each request: drop a database connection that broke
    or outlived CONN_MAX_AGE, and check a kept one on first use (CONN_HEALTH_CHECKS) unless it has just
    served a task. Celery's own fixup closes every connection after every task unless
    CELERY_DB_REUSE_MAX (settings) says otherwise. Eager tasks run inside their caller's transaction,
    which this must not close."""
    if getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections, connections

    close_old_connections()
    if time.monotonic() - _last_task_ended < HEALTH_CHECK_AFTER_IDLE_SECONDS:
        for connection in connections.all(initialized_only=True):
            connection.health_check_done = True


@task_postrun.connect
def note_task_end(task, **kwargs) -> None:
    global _last_task_ended
    _last_task_ended = time.monotonic()
