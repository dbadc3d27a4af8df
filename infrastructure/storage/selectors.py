"""Reads for object storage: files a user may see, their bytes (as a stream or a local path), usage."""

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import ApplicationError, NotFound
from aigc_platform.core.health import CheckResult
from infrastructure.storage import local_cache
from infrastructure.storage.backends import CHUNK_SIZE, get_backend
from infrastructure.storage.models import File


def files_visible_to(*, user) -> QuerySet[File]:
    return owned_by(File.objects.select_related("owner"), user)


def file_get(*, user, pk) -> File:
    """The file with id `pk` if `user` may see it; NotFound otherwise (another user's file included)."""
    try:
        return files_visible_to(user=user).get(pk=pk)
    except (File.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(gettext("No file with id %(pk)s.") % {"pk": pk}) from None


@contextlib.contextmanager
def file_open(*, file: File) -> Iterator[BinaryIO]:
    """The file's bytes as a readable binary stream (read it in chunks: it may be large)."""
    with get_backend().open(file.key) as stream:
        yield stream


def file_download_url(*, file: File) -> str | None:
    """A URL serving the bytes without the web process (a presigned S3 URL), or None where the app streams."""
    return get_backend().download_url(file.key, filename=file.filename, content_type=file.content_type)


def file_local_path(*, file: File) -> Path:
    """A local path holding the file's verified bytes, for loaders that need a path (model weights).
    On the local backend that is the object itself; otherwise a copy under STORAGE_CACHE_DIR, fetched once
    and checked against the file's SHA-256. Do not write to it. The copy may be evicted once it has not
    been used for LOCAL_CACHE_MIN_IDLE_SECONDS: work that holds it longer uses `file_local_copy`."""
    with file_local_copy(file=file) as path:
        return path


@contextlib.contextmanager
def file_local_copy(*, file: File) -> Iterator[Path]:
    """file_local_path, held in use for the block: the local copy is not evicted meanwhile
    (infrastructure.storage.local_cache)."""
    backend = get_backend()
    path = backend.local_path(file.key)
    if path is not None:
        yield path
        return
    suffix = "".join(Path(file.filename).suffixes[-2:])[:32]
    cached = settings.STORAGE_CACHE_DIR / file.sha256[:2] / f"{file.sha256}{suffix}"
    with local_cache.pinned(cached):
        yield _local_copy_fetched(file=file, cached=cached, backend=backend)


def local_path_pinned(path: Path) -> contextlib.AbstractContextManager[Path]:
    """Hold a local copy or a folder made from one (a checkpoint folder) in use for the block."""
    return local_cache.pinned(path)


def _local_copy_fetched(*, file: File, cached: Path, backend) -> Path:
    if cached.is_file() and cached.stat().st_size == file.size:
        return cached
    local_cache.make_room(incoming_bytes=file.size)
    cached.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, partial_name = tempfile.mkstemp(prefix=".partial-", dir=cached.parent)
    partial = Path(partial_name)
    try:
        with os.fdopen(fd, "wb") as sink, backend.open(file.key) as source:
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
                sink.write(chunk)
        if digest.hexdigest() != file.sha256:
            raise ApplicationError(
                gettext("The object of %(filename)r is corrupt (its SHA-256 does not match).")
                % {"filename": file.filename},
                code="corrupt_object",
            )
        os.replace(partial, cached)
    finally:
        partial.unlink(missing_ok=True)
    return cached


def storage_usage(*, user) -> dict[str, int]:
    """The bytes and number of files a user owns, and their quota (0: none)."""
    totals = File.objects.filter(owner=user).aggregate(used=Sum("size"), files=Count("id"))
    return {"used": totals["used"] or 0, "files": totals["files"], "quota": settings.STORAGE_USER_QUOTA_BYTES}


def storage_totals_per_user() -> list[dict]:
    """For admins: files and bytes per owner (None: system files), largest first."""
    rows = File.objects.values("owner__username").annotate(files=Count("id"), used=Sum("size")).order_by("-used")
    return [{"username": row["owner__username"], "files": row["files"], "used": row["used"] or 0} for row in rows]


def storage_health() -> CheckResult:
    try:
        return CheckResult(True, get_backend().check())
    except ApplicationError as error:
        return CheckResult(False, error.message)


@dataclass(frozen=True)
class ObjectProblem:
    key: str
    status: str  # "missing" or "corrupt"
    detail: str
    files: list[tuple[str, str]]  # (id, filename) of every row naming the object


@dataclass
class CheckReport:
    files_checked: int = 0
    objects_checked: int = 0
    problems: list[ObjectProblem] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(problem.status == "missing" for problem in self.problems)

    @property
    def corrupt(self) -> int:
        return sum(problem.status == "corrupt" for problem in self.problems)


def _object_problem(backend, key: str, size: int, sha256: str, verify_hash: bool, on_bytes) -> tuple[str, str] | None:
    stored_size = backend.size(key)
    if stored_size is None:
        return "missing", "no object under this key"
    if stored_size != size:
        return "corrupt", f"{stored_size} bytes stored, {size} expected"
    if verify_hash:
        digest = hashlib.sha256()
        with backend.open(key) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
                on_bytes(len(chunk))
        if digest.hexdigest() != sha256:
            return "corrupt", f"SHA-256 {digest.hexdigest()[:12]}…, {sha256[:12]}… expected"
    else:
        on_bytes(size)
    return None


def storage_check(*, verify_hash: bool = True, on_progress=None) -> CheckReport:
    """Read every object named by a File row back (each shared object once) and compare size and SHA-256;
    also list objects no row names. `on_progress(done_bytes, total_bytes)` follows the reading."""
    backend = get_backend()
    report = CheckReport()
    by_key: dict[str, dict] = {}
    for file_id, filename, key, size, sha256 in File.objects.order_by("key").values_list(
        "id", "filename", "key", "size", "sha256"
    ):
        report.files_checked += 1
        entry = by_key.setdefault(key, {"size": size, "sha256": sha256, "files": []})
        entry["files"].append((str(file_id), filename))
    total = sum(entry["size"] for entry in by_key.values())
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if on_progress:
            on_progress(done, total)

    for key, entry in by_key.items():
        report.objects_checked += 1
        problem = _object_problem(backend, key, entry["size"], entry["sha256"], verify_hash, advance)
        if problem:
            report.problems.append(ObjectProblem(key, problem[0], problem[1], entry["files"]))
    report.orphans = sorted(key for key in backend.keys() if key not in by_key)
    return report
