"""The per-worker model cache: bounded by memory, least recently used evicted, each model loaded once."""

import threading
import time

from models_layer.runtime.backends import LoadedModel
from models_layer.runtime.cache import ModelCache


class _Sized(LoadedModel):
    def __init__(self, name: str, memory_bytes: int):
        self.name = name
        self.memory_bytes = memory_bytes
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_the_least_recently_used_model_is_evicted_when_memory_runs_out():
    cache = ModelCache(max_bytes=250)
    a = cache.get("a", lambda: _Sized("a", 100))
    b = cache.get("b", lambda: _Sized("b", 100))
    # Given a used again after b, when c arrives and the three would need 300 bytes
    assert cache.get("a", lambda: _Sized("a-again", 100)) is a
    c = cache.get("c", lambda: _Sized("c", 100))
    # then b (least recently used) is closed and gone; a and c stay, within the bound
    assert cache.keys() == ["a", "c"] and b.closed and not a.closed and not c.closed
    assert cache.used_bytes == 200


def test_a_model_larger_than_the_bound_still_loads_alone():
    cache = ModelCache(max_bytes=50)
    small = cache.get("small", lambda: _Sized("small", 10))
    big = cache.get("big", lambda: _Sized("big", 100))
    assert cache.keys() == ["big"] and small.closed and not big.closed


def test_threads_asking_at_once_share_one_load():
    cache = ModelCache(max_bytes=1000)
    loads = []

    def load():
        loads.append(1)
        time.sleep(0.2)
        return _Sized("m", 10)

    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("m", load))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len(got) == 8 and all(model is got[0] for model in got)
