"""Celery's Redis transport keeps one redis-py client per channel for its synchronous commands."""

import uuid

from aigc_platform.celery import app
from aigc_platform.core.broker import Channel


def test_task_messages_go_through_one_client_per_channel_and_arrive():
    queue = f"test-transport-{uuid.uuid4().hex[:8]}"
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, Channel)
        # kombu made a new redis-py client for every command; the channel now keeps one
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool
        # and messages still reach their queue, in order, through it
        with app.producer_or_acquire() as producer:
            for n in range(3):
                app.send_task("jobs.echo", args=[f"id-{n}"], queue=queue, producer=producer)
        with channel.conn_or_acquire() as client:
            assert client.llen(queue) == 3
            client.delete(queue)
