"""Celery's Redis transport, with one redis-py client per channel for its synchronous commands.

kombu's Redis channel makes a new redis-py client for every command it sends outside its event loop:
each task message published, and in a worker each message taken and each one acknowledged. A new
client copies redis-py's table of about 160 response callbacks, which was a sixth of publishing a job
and about a tenth of a worker's main process per task. A client holds no connection of its own (its
pool does, and a redis-py pool is thread-safe), so one client serves the channel for as long as the
channel keeps its pool. Settings select this transport for `redis://` broker URLs
(CELERY_BROKER_TRANSPORT); the same idea serves the cache (aigc_platform/core/cache.py).
"""
from kombu.transport import redis as kombu_redis


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
