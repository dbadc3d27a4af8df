"""A worker's local copies on disk: verified copies of objects (STORAGE_CACHE_DIR/<aa>/<sha256>…) and
the checkpoint folders made from them (MODEL_FOLDERS_DIR/<sha256>-hf, -zip), each up to 20 GiB.

They are evicted by age and size (LOCAL_CACHE_MAX_AGE_SECONDS, LOCAL_CACHE_MAX_BYTES), least recently
used first, and never while in use. An entry is in use while some process holds it pinned: `pinned`
holds a shared lock (flock) on the entry's lock file, `.locks/<name>.lock` beside it, from before the
entry is looked up (or made) until the caller is done with it. Eviction takes that lock exclusively
without waiting, so it skips what is pinned, and an entry is never taken away between a lookup and its
use. An entry used (pinned) within LOCAL_CACHE_MIN_IDLE_SECONDS is kept too: a path handed out
without a pin is used soon after. Each pin marks the entry used (its mtime), which is what "least
recently used" reads. An evicted entry is renamed away first, so a reader sees all of it or nothing.
"""

import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

LOCKS = ".locks"
# Folders being built (artifacts._build_once) and copies being fetched start with a dot: not entries yet.
IN_PROGRESS_PREFIX = "."


@dataclass
class Entry:
    path: Path
    size: int
    used_at: float


def _lock_path(path: Path) -> Path:
    return path.parent / LOCKS / f"{path.name}.lock"


@contextmanager
def pinned(path: Path) -> Iterator[Path]:
    """Hold `path` (a copy or a folder, existing or about to be made) in use for the block: eviction
    leaves it alone. Taken before the entry is looked up, so it cannot go between lookup and use."""
    lock = _lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            if path.exists():
                os.utime(path)
            yield path
            if path.exists():
                os.utime(path)  # used now: the least recently used go first
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def roots() -> list[Path]:
    """Where entries live: each object copy is a file two levels down (<aa>/<sha256>…) of the storage
    cache, each checkpoint folder a folder directly in MODEL_FOLDERS_DIR."""
    return [settings.STORAGE_CACHE_DIR, settings.MODEL_FOLDERS_DIR]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                continue
    return total


def entries() -> list[Entry]:
    """Every local copy and checkpoint folder, least recently used first."""
    found: dict[Path, Entry] = {}
    storage_root, models_root = settings.STORAGE_CACHE_DIR, settings.MODEL_FOLDERS_DIR
    candidates: list[Path] = []
    if storage_root.is_dir():
        for prefix in storage_root.iterdir():
            if prefix.is_dir() and len(prefix.name) == 2 and prefix.resolve() != models_root.resolve():
                candidates += [path for path in prefix.iterdir() if path.is_file()]
    if models_root.is_dir():
        candidates += [path for path in models_root.iterdir() if path.is_dir() and path.name != LOCKS]
    for path in candidates:
        if path.name.startswith(IN_PROGRESS_PREFIX):
            continue
        try:
            found[path] = Entry(path=path, size=_size(path), used_at=path.stat().st_mtime)
        except FileNotFoundError:
            continue  # evicted by another process meanwhile
    return sorted(found.values(), key=lambda entry: entry.used_at)


def _remove(entry: Entry) -> bool:
    """Take the entry away unless it is pinned: renamed away under the exclusive lock, then deleted."""
    lock = _lock_path(entry.path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        try:
            if not entry.path.exists():
                return False
            doomed = entry.path.with_name(f"{IN_PROGRESS_PREFIX}evicted-{uuid.uuid4().hex[:8]}-{entry.path.name}")
            os.rename(entry.path, doomed)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    if doomed.is_dir():
        shutil.rmtree(doomed, ignore_errors=True)
    else:
        doomed.unlink(missing_ok=True)
    return True


def evict(
    *,
    max_bytes: int | None = None,
    max_age_seconds: float | None = None,
    min_idle_seconds: float | None = None,
    incoming_bytes: int = 0,
    now: float | None = None,
) -> dict[str, int]:
    """Remove entries unused for longer than `max_age_seconds`, then the least recently used until the
    rest and `incoming_bytes` (a copy about to be made) fit in `max_bytes` (0: no limit of either),
    keeping what is pinned or was used within `min_idle_seconds`. Defaults: the LOCAL_CACHE_* settings.
    Returns what it removed and kept, and the bytes left."""
    max_bytes = settings.LOCAL_CACHE_MAX_BYTES if max_bytes is None else max_bytes
    max_age_seconds = settings.LOCAL_CACHE_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    min_idle_seconds = settings.LOCAL_CACHE_MIN_IDLE_SECONDS if min_idle_seconds is None else min_idle_seconds
    now = time.time() if now is None else now
    listed = entries()
    total = sum(entry.size for entry in listed)
    removed = freed = kept_in_use = 0
    for entry in listed:
        too_old = bool(max_age_seconds) and now - entry.used_at > max_age_seconds
        too_big = bool(max_bytes) and total + incoming_bytes > max_bytes
        if not (too_old or too_big):
            continue
        if now - entry.used_at < min_idle_seconds or not _remove(entry):
            kept_in_use += 1
            continue
        removed, freed, total = removed + 1, freed + entry.size, total - entry.size
        logger.info(
            "Evicted the local copy %s (%d bytes, unused for %.0f s)", entry.path.name, entry.size, now - entry.used_at
        )
    return {"removed": removed, "freed_bytes": freed, "kept_in_use": kept_in_use, "bytes": total}


def make_room(*, incoming_bytes: int = 0) -> None:
    """Evict with the settings before an entry of about `incoming_bytes` is added (0: not known). It walks
    the cache's few large entries, which costs little beside the copy or the unpacking that follows."""
    try:
        evict(incoming_bytes=incoming_bytes)
    except OSError as error:
        logger.warning("Could not evict local copies: %s", error)
