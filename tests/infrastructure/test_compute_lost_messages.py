"""A queued job whose task message the broker lost (a restart, a failed send, a worker that died
holding it) is sent again by the sweep; one whose message is waiting or being delivered is not."""

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from infrastructure.compute import services
from infrastructure.compute.broker import (
    UNACKED_INDEX_KEY,
    UNACKED_KEY,
    job_ids_with_messages,
    queue_length,
    redis_client,
)
from infrastructure.compute.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue():
    """A queue no worker consumes, emptied afterwards."""
    name = f"lost-{uuid.uuid4().hex[:8]}"
    yield name
    redis_client().delete(name)


def submit(owner, queue: str) -> Job:
    return services.job_submit(owner=owner, kind="echo", params={"steps": 1, "delay": 0}, queue=queue)


def message_of(job: Job, queue: str) -> bytes:
    return next(
        raw for raw in redis_client().lrange(queue, 0, -1) if str(job.id) in json.loads(raw)["headers"]["argsrepr"]
    )


def test_a_job_whose_message_the_broker_lost_is_sent_again_once(creator, queue):
    # Given two queued jobs, and a broker that lost the message of one
    waiting = submit(creator, queue)
    lost = submit(creator, queue)
    redis_client().lrem(queue, 1, message_of(lost, queue))
    assert queue_length(queue) == 1
    # When the sweep looks for lost messages
    sent = services.jobs_redispatch_lost(grace_seconds=0)
    # Then only the lost one was sent again, and a second look finds nothing more to send
    assert sent == 1
    assert queue_length(queue) == 2
    assert job_ids_with_messages([queue], unacked_within_seconds=0) == {str(waiting.id), str(lost.id)}
    assert services.jobs_redispatch_lost(grace_seconds=0) == 0


def test_a_job_taken_by_a_worker_that_died_before_starting_it_is_sent_again(creator, queue):
    # Given a job whose message a worker took (unacknowledged) and then died without claiming the job
    job = submit(creator, queue)
    client = redis_client()
    raw = client.rpop(queue)
    tag = uuid.uuid4().hex
    client.hset(UNACKED_KEY, tag, json.dumps([json.loads(raw), "", queue]))
    client.zadd(UNACKED_INDEX_KEY, {tag: time.time()})
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    try:
        # While the message was taken less than the grace ago, it counts as being delivered
        assert services.jobs_redispatch_lost(grace_seconds=60) == 0
        # When the job is still not claimed past the grace, it is sent again
        client.zadd(UNACKED_INDEX_KEY, {tag: time.time() - 120})
        assert services.jobs_redispatch_lost(grace_seconds=60) == 1
        assert queue_length(queue) == 1
    finally:
        client.hdel(UNACKED_KEY, tag)
        client.zrem(UNACKED_INDEX_KEY, tag)


def test_a_job_younger_than_the_grace_or_not_queued_is_left_alone(creator, queue):
    young = submit(creator, queue)
    redis_client().delete(queue)
    assert services.jobs_redispatch_lost(grace_seconds=60) == 0
    services.job_claim(job_id=young.id, worker="w1")
    assert services.jobs_redispatch_lost(grace_seconds=0) == 0
    assert queue_length(queue) == 0
