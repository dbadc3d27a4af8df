"""The cache backend: Django's Redis cache with one connection pool per process.

Django keeps a cache object per request context, and its Redis client builds a new connection pool
for each one, so under the ASGI server every request opened (and never reused) a fresh Redis
connection; redis-py also reads its own package metadata from disk for each new connection. That
cost most of a small API request's time. The pools here are shared by every cache object of the
process (a redis-py pool is thread-safe)."""
import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple, object] = {}
_pools_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], tuple(sorted((name, repr(value)) for name, value in self._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
        return pool


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
