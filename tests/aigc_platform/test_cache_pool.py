"""The cache (rate-limit counters) shares one Redis connection pool per process, across requests."""
import threading

from django.core.cache import caches


def _pool_in_a_new_thread():
    found = []
    thread = threading.Thread(target=lambda: found.append(caches["default"]._cache._get_connection_pool(write=True)))
    thread.start()
    thread.join()
    return found[0]


def test_requests_in_different_threads_share_one_connection_pool():
    # Django keeps a cache object per thread (per request under ASGI); each must not open its own connections
    first, second = _pool_in_a_new_thread(), _pool_in_a_new_thread()
    assert caches["default"]._cache is not None
    assert first is second
