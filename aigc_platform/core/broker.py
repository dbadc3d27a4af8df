"""Adapter: kombu's Redis transport, written for kombu 5.6 (5.6.2). The one module that knows its
internals: a channel's private `_create_client`, and the names and types of the keys it keeps in Redis.
tests/adapters/test_kombu_redis.py fails with this module's name when kombu moves them.

Celery's Redis transport, with one redis-py client per channel for its synchronous commands.

kombu's Redis channel makes a new redis-py client for every command it sends outside its event loop:
each task message published, and in a worker each message taken and each one acknowledged. A new
client copies redis-py's table of about 160 response callbacks, which was a sixth of publishing a job
and about a tenth of a worker's main process per task. A client holds no connection of its own (its
pool does, and a redis-py pool is thread-safe), so one client serves the channel for as long as the
channel keeps its pool. Settings select this transport for `redis://` broker URLs
(CELERY_BROKER_TRANSPORT); the same idea serves the cache (aigc_platform/core/cache.py).

It also knows the transport's own keys, so that startup, the health check and `aigc doctor` can find
one of the wrong type, no queue is ever given one of their names, and the sweep can read which job
messages wait in a queue or were taken unacknowledged (infrastructure/compute/broker.py).
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis
from kombu.transport import redis as kombu_redis

WRITTEN_FOR = "kombu 5.6"


class Channel(kombu_redis.Channel):
    _sync_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._sync_client
        if client is None or client.connection_pool is not self.pool:
            client = self._sync_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel


# The keys kombu's Redis transport keeps for its own bookkeeping (kombu 5.6), and the type each must
# have. A key of another type under one of these names stops every worker: the transport's next
# command on it fails with WRONGTYPE, which a worker treats as unrecoverable (issue 21, finding 1).
BOOKKEEPING_KEY_TYPES = {
    kombu_redis.Channel.unacked_key: "hash",  # "unacked": messages taken and not yet acknowledged
    kombu_redis.Channel.unacked_index_key: "zset",  # "unacked_index": when each was taken
    kombu_redis.Channel.unacked_mutex_key: "string",  # "unacked_mutex": the lock of their restore
}
UNACKED_KEY = kombu_redis.Channel.unacked_key
UNACKED_INDEX_KEY = kombu_redis.Channel.unacked_index_key
BINDING_PREFIX = kombu_redis.Channel.keyprefix_queue.replace("%s", "")  # a set per exchange
BINDING_SEPARATOR = kombu_redis.Channel.sep
PRIORITY_STEPS = (3, 6, 9)  # kombu keeps a list per queue and per priority step: `queue`, `queue\x06\x163`, …


def queue_keys(queue: str) -> list[str]:
    """The Redis lists that hold a queue's waiting messages: one per priority step."""
    return [queue, *(f"{queue}{BINDING_SEPARATOR}{step}" for step in PRIORITY_STEPS)]


# Where a key of the wrong type is set aside (renamed, not deleted: nothing is lost).
SET_ASIDE_PREFIX = "aigc:set-aside:"


def is_reserved_key(name: str) -> bool:
    """Whether a name is one of the transport's own keys, which no queue may ever be named."""
    return (
        name in BOOKKEEPING_KEY_TYPES
        or name.startswith(BINDING_PREFIX)
        or name.startswith(SET_ASIDE_PREFIX)
        or BINDING_SEPARATOR in name
        or name.startswith("_kombu.")
    )


@dataclass(frozen=True)
class WrongTypeKey:
    key: str
    found: str
    expected: str

    def describe(self) -> str:
        return f"{self.key!r} is a {self.found}, not a {self.expected}"


def _decoded(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def broker_keys_of_wrong_type(client, *, queues: Iterable[str] = ()) -> list[WrongTypeKey]:
    """The transport's keys that hold the wrong Redis type: its bookkeeping keys, its bindings, and
    the lists of every queue bound or named in `queues` (with their priority steps)."""
    expected: dict[str, str] = dict(BOOKKEEPING_KEY_TYPES)
    bindings = [_decoded(key) for key in client.scan_iter(match=f"{BINDING_PREFIX}*", count=1000)]
    named = set(queues)
    for binding in bindings:
        expected[binding] = "set"
        if _decoded(client.type(binding)) == "set":
            named.update(_decoded(member).split(BINDING_SEPARATOR)[-1] for member in client.smembers(binding))
    for queue in named:
        if queue and not is_reserved_key(queue):
            for name in queue_keys(queue):
                expected[name] = "list"
    names = list(expected)
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.type(name)
    found = [_decoded(kind) for kind in pipe.execute()]
    return [
        WrongTypeKey(name, kind, expected[name])
        for name, kind in zip(names, found, strict=True)
        if kind not in ("none", expected[name])
    ]


def broker_keys_set_aside(client, keys: Iterable[WrongTypeKey]) -> list[tuple[str, str]]:
    """Rename each wrong-typed key out of the transport's way; returns (key, new name) of each moved.
    A key that changed or went meanwhile (another process repaired it) is left alone."""
    moved = []
    stamp = int(time.time())
    for wrong in keys:
        target = f"{SET_ASIDE_PREFIX}{wrong.key}:{stamp}"
        with client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(wrong.key)
                if _decoded(pipe.type(wrong.key)) != wrong.found:
                    continue
                pipe.multi()
                pipe.rename(wrong.key, target)
                pipe.execute()
            except (redis.WatchError, redis.ResponseError):
                continue
        moved.append((wrong.key, target))
    return moved


def broker_keys_repair(url: str, *, queues: Iterable[str] = ()) -> list[tuple[WrongTypeKey, str]]:
    """Find the transport's keys of the wrong type at `url` and set them aside: what `aigc up` and each
    worker do before consuming, so such a key cannot stop them at every start. Returns each key
    with its new name."""
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        wrong = broker_keys_of_wrong_type(client, queues=queues)
        moved = dict(broker_keys_set_aside(client, wrong)) if wrong else {}
    finally:
        client.close()
    return [(key, moved[key.key]) for key in wrong if key.key in moved]
