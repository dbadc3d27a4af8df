"""The cache (rate-limit counters) shares one Redis connection pool and client per process, across requests."""

import threading

from django.core.cache import caches


def _in_a_new_thread(action):
    found = []
    thread = threading.Thread(target=lambda: found.append(action(caches["default"])))
    thread.start()
    thread.join()
    return found[0]


def _pool_in_a_new_thread():
    return _in_a_new_thread(lambda cache: cache._cache._get_connection_pool(write=True))


def test_requests_in_different_threads_share_one_connection_pool():
    # Django keeps a cache object per thread (per request under ASGI); each must not open its own connections
    first, second = _pool_in_a_new_thread(), _pool_in_a_new_thread()
    assert caches["default"]._cache is not None
    assert first is second


def test_cache_operations_share_one_redis_client_and_still_work():
    # Django built a redis.Redis client for every cache operation; one per pool serves every thread
    first = _in_a_new_thread(lambda cache: cache._cache.get_client(write=True))
    second = _in_a_new_thread(lambda cache: cache._cache.get_client(write=False))
    assert first is second
    assert first.connection_pool is _pool_in_a_new_thread()
    # and the cache works through it, across threads
    _in_a_new_thread(lambda cache: cache.set("shared-client-check", 41, 30))
    assert _in_a_new_thread(lambda cache: cache.incr("shared-client-check")) == 42
