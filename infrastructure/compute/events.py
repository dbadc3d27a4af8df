"""Live job events (status, progress, log lines, tokens) on a Redis stream per job.

The Job row is the durable record; the stream is what server-sent events replay and follow. Redis is
the broker already, so the stream needs no other server. Publishing is best-effort: a job never fails
because its live view could not be updated.
"""

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis
import redis.asyncio as aredis
from django.conf import settings

from infrastructure.compute.broker import redis_client

logger = logging.getLogger(__name__)

# Enough for a long generation's tokens and a training run's log; older events are trimmed.
STREAM_MAX_EVENTS = 20_000


def stream_key(job_id) -> str:
    return f"aigc:job-events:{job_id}"


def publish_many(job_id, batch: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Add (type, data) events to the job's stream, in order, in one round trip."""
    if not batch:
        return
    key = stream_key(job_id)
    try:
        pipe = redis_client().pipeline(transaction=False)
        for event_type, data in batch:
            pipe.xadd(
                key,
                {"type": event_type, "data": json.dumps(data, default=str)},
                maxlen=STREAM_MAX_EVENTS,
                approximate=True,
            )
        pipe.expire(key, settings.JOB_EVENTS_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as error:
        logger.warning(
            "Could not publish %s events of job %s (the first of type %s): %s", len(batch), job_id, batch[0][0], error
        )


def discard(job_id) -> None:
    try:
        redis_client().delete(stream_key(job_id))
    except redis.RedisError as error:
        logger.warning("Could not clear the events of job %s: %s", job_id, error)


async def follow(job_id, *, after: str = "0", block_ms: int = 10_000) -> AsyncIterator[tuple[str, str, dict] | None]:
    """Yield (event id, type, data) from `after` on; None whenever `block_ms` passes with nothing new."""
    client = aredis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2)
    key = stream_key(job_id)
    try:
        while True:
            answer = await client.xread({key: after}, block=block_ms, count=500)
            if not answer:
                yield None
                continue
            for event_id, fields in answer[0][1]:
                after = event_id.decode()
                yield after, fields[b"type"].decode(), json.loads(fields[b"data"])
    finally:
        await client.aclose()
