"""Contract of aigc_platform/core/cache.py: Django's Redis cache client still has the private members
the adapter overrides and reads, and every cache object of the process shares one pool and client
(against the suite's real Redis)."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCacheClient

from aigc_platform.core import cache as adapter
from tests.adapters.contract import holds, parameters


def test_the_private_members_are_still_there():
    client = RedisCacheClient(["redis://127.0.0.1:1/0"], socket_timeout=1)
    with holds(adapter, "RedisCacheClient's private members"):
        assert parameters(RedisCacheClient._get_connection_pool_index) == ["self", "write"]
        assert parameters(RedisCacheClient._get_connection_pool) == ["self", "write"]
        assert parameters(RedisCacheClient.get_client) == ["self", "key", "write"]
        assert isinstance(client._servers, list) and isinstance(client._pool_options, dict)
        assert callable(client._pool_class.from_url) and callable(client._client)


def test_cache_objects_share_one_pool_and_client_and_really_store():
    first, second = caches.create_connection("default"), caches.create_connection("default")
    with holds(adapter, "a shared pool"):
        assert first._cache.get_client(write=True) is second._cache.get_client(write=True)
        assert first._cache._get_connection_pool(True) is second._cache._get_connection_pool(True)
    first.set("adapter-contract", "kept", 30)
    assert second.get("adapter-contract") == "kept"
