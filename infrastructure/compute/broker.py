"""The broker's Redis, for what the platform keeps there besides Celery's messages: live job
events and queue lengths."""
from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5, socket_connect_timeout=2)


def queue_length(queue: str) -> int:
    """Messages waiting in a Celery queue (kombu keeps each queue as a Redis list of that name)."""
    return int(redis_client().llen(queue))
