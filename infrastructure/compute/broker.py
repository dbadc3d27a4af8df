"""The broker's Redis, for what the platform keeps there besides Celery's messages: live job
events and queue lengths, and which jobs still have a task message waiting or being delivered."""

import base64
import json
import time
from collections.abc import Iterable
from functools import cache

import redis
from django.conf import settings

# How kombu's Redis transport keeps messages (its adapter, aigc_platform/core/broker.py, knows): a list
# per queue and priority step, and the messages a worker has taken but not yet acknowledged in a hash,
# with their delivery time in a sorted set.
from aigc_platform.core.broker import UNACKED_INDEX_KEY, UNACKED_KEY, queue_keys

# A queue longer than this is not read through when looking for lost messages: a backlog that long
# means jobs are waiting anyway, and reading it every sweep would cost more than it finds.
SCAN_MAX_MESSAGES = 10_000


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5, socket_connect_timeout=2)


def queue_length(queue: str) -> int:
    """Messages waiting in a Celery queue (kombu keeps each queue as a Redis list of that name)."""
    return int(redis_client().llen(queue))


def _job_id(message) -> str | None:
    """The job id a job task's message carries (its only argument), or None for any other message."""
    try:
        if not str(message.get("headers", {}).get("task", "")).startswith("jobs."):
            return None
        args = json.loads(base64.b64decode(message["body"]))[0]
        return str(args[0]) if args else None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def _loads(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def job_ids_with_messages(queues: Iterable[str], *, unacked_within_seconds: float) -> set[str] | None:
    """Ids of jobs whose task message is waiting in one of `queues`, or was taken by a worker less
    than `unacked_within_seconds` ago and not yet acknowledged. A message taken longer ago whose job
    is still queued was never started: its worker died holding it, and only the broker's visibility
    timeout (an hour) would bring it back. None when a queue is too long to read through."""
    client = redis_client()
    ids: set[str] = set()
    for queue in set(queues):
        for name in queue_keys(queue):
            if client.llen(name) > SCAN_MAX_MESSAGES:
                return None
            ids.update(_job_id(_loads(raw) or {}) for raw in client.lrange(name, 0, -1))
    recent = client.zrangebyscore(UNACKED_INDEX_KEY, time.time() - unacked_within_seconds, "+inf")
    for entry in client.hmget(UNACKED_KEY, recent) if recent else []:
        delivery = _loads(entry) if entry else None  # [message, exchange, routing key]
        if isinstance(delivery, list) and delivery:
            ids.add(_job_id(delivery[0] or {}))
    ids.discard(None)
    return ids
