"""Adapter: Django's Redis cache with one connection pool, and one client, per process; written for
Django 5.2, whose RedisCacheClient it subclasses through private methods (`_get_connection_pool_index`,
`_get_connection_pool`, `_servers`, `_pool_options`, `_pool_class`, `_client`).
tests/adapters/test_django_cache.py fails with this module's name when Django moves them.

Django keeps a cache object per request context, and its Redis client builds a new connection pool
for each one, so under the ASGI server every request opened (and never reused) a fresh Redis
connection; redis-py also reads its own package metadata from disk for each new connection. That
cost most of a small API request's time. The pools here are shared by every cache object of the
process (a redis-py pool is thread-safe), and so is the `redis.Redis` client over each: Django made
a new one for every cache operation, about 6% of a labeling request's CPU (two rate-limit counters a
request); a client holds no connection of its own, so threads share it safely."""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

WRITTEN_FOR = "Django 5.2"
_shared: dict[tuple, tuple[object, object]] = {}
_shared_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _pool_and_client(self, write) -> tuple[object, object]:
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], tuple(sorted((name, repr(value)) for name, value in self._pool_options.items())))
        shared = _shared.get(key)
        if shared is None:
            with _shared_lock:
                shared = _shared.get(key)
                if shared is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    shared = _shared[key] = (pool, self._client(connection_pool=pool))
        return shared

    def _get_connection_pool(self, write):
        return self._pool_and_client(write)[0]

    def get_client(self, key=None, *, write=False):
        return self._pool_and_client(write)[1]


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
