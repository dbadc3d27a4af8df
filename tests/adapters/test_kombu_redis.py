"""Contract of aigc_platform/core/broker.py, the adapter of kombu's Redis transport: the private client
hook it overrides, and the key layout it names, are kombu's own, seen on the suite's real Redis. A
message sent at a priority lands in the list `queue_keys` names; one a consumer takes without
acknowledging sits in the unacknowledged hash and its index."""

import uuid

from kombu import Connection, Exchange, Queue
from kombu.transport import redis as kombu_redis

from aigc_platform.core import broker as adapter
from tests.adapters.contract import holds, parameters


def test_the_channel_hook_and_the_key_names_are_kombus():
    with holds(adapter, "kombu's Redis channel"):
        assert parameters(kombu_redis.Channel._create_client) == ["self", "asynchronous"]
        assert kombu_redis.Channel.unacked_key == adapter.UNACKED_KEY
        assert kombu_redis.Channel.unacked_index_key == adapter.UNACKED_INDEX_KEY
        assert set(adapter.PRIORITY_STEPS) <= set(kombu_redis.Channel.priority_steps)
        assert kombu_redis.Channel.keyprefix_queue.replace("%s", "") == adapter.BINDING_PREFIX


def test_messages_land_in_the_keys_the_adapter_names(settings):
    name = f"adapter-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="direct")
    queue = Queue(name, exchange, routing_key=name, max_priority=9)
    with Connection(settings.CELERY_BROKER_URL, transport_options={"priority_steps": [0, 3, 6, 9]}) as connection:
        client = connection.default_channel.client
        try:
            with connection.Producer() as producer:
                producer.publish({"n": 1}, exchange=exchange, routing_key=name, declare=[queue], priority=6)
            with holds(adapter, "the queue's priority lists"):
                lengths = {key: client.llen(key) for key in adapter.queue_keys(name)}
                assert sum(lengths.values()) == 1, lengths
            taken = queue(connection.default_channel).get(no_ack=False)
            with holds(adapter, "the unacknowledged hash and its index"):
                assert taken is not None and taken.payload == {"n": 1}
                tag = taken.delivery_tag
                assert client.hexists(adapter.UNACKED_KEY, tag)
                assert client.zscore(adapter.UNACKED_INDEX_KEY, tag) is not None
                assert adapter.broker_keys_of_wrong_type(client, queues=[name]) == []
            taken.ack()
            assert not client.hexists(adapter.UNACKED_KEY, tag)
        finally:
            client.delete(*adapter.queue_keys(name), f"{adapter.BINDING_PREFIX}{name}")
