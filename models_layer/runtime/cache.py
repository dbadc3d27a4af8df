"""Loaded models kept per worker process, bounded by memory, least recently used evicted first."""

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from models_layer.runtime.backends import LoadedModel

logger = logging.getLogger(__name__)


class ModelCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, key: str, load: Callable[[], LoadedModel]) -> LoadedModel:
        """The model under `key`, loading it once however many threads ask at the same time."""
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                model = self._models.get(key)
                if model is not None:
                    self._models.move_to_end(key)
                    return model
            model = load()
            with self._lock:
                self._models[key] = model
                self._loading.pop(key, None)
                self._evict(keep=key)
            return model

    def _evict(self, *, keep: str) -> None:
        while self.used_bytes > self.max_bytes and len(self._models) > 1:
            key = next(k for k in self._models if k != keep)
            model = self._models.pop(key)
            logger.info("Evicting model %s (%.0f MB) from the cache", key, model.memory_bytes / 1e6)
            model.close()

    @property
    def used_bytes(self) -> int:
        return sum(model.memory_bytes for model in self._models.values())

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def clear(self) -> None:
        with self._lock:
            for model in self._models.values():
                model.close()
            self._models.clear()
