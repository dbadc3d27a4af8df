"""A bare Celery app for bench/api.py: a no-op task on the platform's Redis, with the platform's
delivery settings (acks late, prefetch 1), as the baseline of the Job queue."""

import json
import os
import time

import redis
from celery import Celery

BROKER = os.environ["CELERY_BROKER_URL"]
RESULTS = "bench:bare:results"

app = Celery("bench_bare", broker=BROKER)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue="bench-bare",
    broker_connection_retry_on_startup=True,
)
_client = None


@app.task(name="bench.noop")
def noop(sent_at: float) -> None:
    global _client
    started = time.time()
    if _client is None:
        _client = redis.Redis.from_url(BROKER)
    _client.rpush(RESULTS, json.dumps([sent_at, started, time.time()]))
