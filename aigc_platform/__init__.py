"""The platform spine: settings, URLs, the Celery app, accounts and the pages every layer extends."""

from .celery import app as celery_app

__all__ = ["celery_app"]
