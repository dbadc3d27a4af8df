"""The storage interface and its two backends: a local directory, and any S3 server through the minio SDK.

Objects are immutable and content-addressed, so every write is "make this key exist with these bytes":
a backend never overwrites, and a half-written object is never visible under its key.
"""
import contextlib
import functools
import io
import os
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from django.conf import settings

from aigc_platform.core.errors import NotFound, ServiceUnavailable

# Bytes read or written per step when streaming: large enough to keep syscalls and Python overhead
# small, small enough that many concurrent transfers stay far from the memory budget.
CHUNK_SIZE = 1024 * 1024
# S3 multipart: the part size and how many parts go up at once. The SDK holds each part in flight
# and the next one read in memory, so a transfer costs about S3_PART_SIZE * (S3_PARALLEL_PARTS + 1)
# (40 MiB). Measured against SeaweedFS with 256 MiB: 8 MiB x 4 was faster than 16 x 4 or 32 x 2.
S3_PART_SIZE = 8 * 1024 * 1024
S3_PARALLEL_PARTS = 4


def object_key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class StorageBackend(ABC):
    """What every layer's storage goes through; services and selectors pick one with `get_backend`."""

    name: str

    @property
    @abstractmethod
    def staging_dir(self) -> Path:
        """Where an upload is written while it arrives and is hashed (before its key is known)."""

    def staging_file(self) -> tuple[BinaryIO, Path]:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", dir=self.staging_dir)
        return os.fdopen(fd, "w+b"), Path(name)

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""

    @abstractmethod
    def put(self, key: str, staged: Path, *, size: int, content_type: str) -> bool:
        """Store a staged file under `key` unless the key exists; True when this call wrote it.
        The staged file is left where it is (the caller removes it)."""

    @abstractmethod
    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def keys(self) -> Iterator[str]:
        """Every object key (for checks and cleanup)."""

    def download_url(self, key: str, *, filename: str, content_type: str) -> str | None:
        """A URL that serves the object without the web process, or None where the app must stream it."""
        return None

    def local_path(self, key: str) -> Path | None:
        """The object itself as a local file, where the backend has one."""
        return None

    def check(self) -> str:
        """Raise when the backend cannot be used; otherwise say what it is."""
        return self.name


class LocalBackend(StorageBackend):
    """A directory: uploads are staged inside it, then hard-linked into place (atomic, no copy)."""

    name = "local"

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def staging_dir(self) -> Path:
        return self.root / ".incoming"

    def _path(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def put(self, key: str, staged: Path, *, size: int, content_type: str) -> bool:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(staged, target)
        except FileExistsError:
            return False
        except OSError:
            # No hard links here (another filesystem): copy beside the target, then rename atomically.
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
            with open(staged, "rb") as source, open(partial, "wb") as sink:
                while chunk := source.read(CHUNK_SIZE):
                    sink.write(chunk)
                sink.flush()
                os.fsync(sink.fileno())
            if target.exists():
                partial.unlink()
                return False
            os.replace(partial, target)
        return True

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        try:
            stream = open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound(f"The object {key} is missing from storage.") from None
        with stream:
            yield stream

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        base = self.root / "sha256"
        if base.is_dir():
            for path in base.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    yield path.relative_to(self.root).as_posix()

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def check(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise ServiceUnavailable(f"The storage directory {self.root} is not writable.")
        return f"local {self.root}"


class _ObjectBody(io.RawIOBase):
    """An S3 object's body as a plain binary stream. The SDK's response calls itself closed as soon as
    its last byte has arrived, so a buffered reader over it raised "readline of closed file" instead of
    ending the last line (every JSONL or CSV import from S3 failed so); and a transfer that breaks
    off midway is a 503 like any other outage."""

    def __init__(self, response, errors: Callable[[], contextlib.AbstractContextManager]):
        super().__init__()
        self._response, self._errors = response, errors

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        with self._errors():
            data = self._response.read(len(buffer)) or b""
        buffer[: len(data)] = data
        return len(data)


class S3Backend(StorageBackend):
    """Any S3 API server (MinIO, SeaweedFS) through the minio SDK; the bucket is created when missing."""

    name = "s3"

    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool, region: str,
                 staging_dir: Path):
        import urllib3
        from minio import Minio

        self.endpoint = endpoint
        self.bucket = bucket
        self._staging_dir = staging_dir
        # Fail fast when the server is down (the SDK's default client retries for long): a user waits.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=60), maxsize=16, cert_reqs="CERT_REQUIRED" if secure else "CERT_NONE",
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region,
                            http_client=http)
        self._bucket_ready = False

    @property
    def staging_dir(self) -> Path:
        return self._staging_dir

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Connection failures become a 503 that says what was being done, and where."""
        from minio.error import MinioException, S3Error
        from urllib3.exceptions import HTTPError

        try:
            yield
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject"):
                raise NotFound(f"The object {error.object_name or ''} is missing from storage.") from error
            raise ServiceUnavailable(f"Object storage refused to {action}: {error.code}: {error.message}") from error
        except (HTTPError, MinioException, OSError) as error:
            raise ServiceUnavailable(f"Object storage at {self.endpoint} is unreachable ({action}): {error}") from error

    def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._errors(f"create the bucket {self.bucket}"):
            if not self.client.bucket_exists(self.bucket):
                from minio.error import S3Error

                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as error:
                    if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
        self._bucket_ready = True

    def size(self, key: str) -> int | None:
        from minio.error import S3Error

        self.ensure_bucket()
        with self._errors(f"look up {key}"):
            try:
                return self.client.stat_object(self.bucket, key).size
            except S3Error as error:
                if error.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                    return None
                raise

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def put(self, key: str, staged: Path, *, size: int, content_type: str) -> bool:
        if self.exists(key):
            return False
        with self._errors(f"store {key}"):
            self.client.fput_object(
                self.bucket, key, str(staged), content_type=content_type,
                part_size=S3_PART_SIZE, num_parallel_uploads=S3_PARALLEL_PARTS,
            )
        return True

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        self.ensure_bucket()
        with self._errors(f"read {key}"):
            response = self.client.get_object(self.bucket, key)
        try:
            yield io.BufferedReader(_ObjectBody(response, lambda: self._errors(f"read {key}")))
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> None:
        self.ensure_bucket()
        with self._errors(f"delete {key}"):
            self.client.remove_object(self.bucket, key)

    def keys(self) -> Iterator[str]:
        self.ensure_bucket()
        with self._errors("list objects"):
            for item in self.client.list_objects(self.bucket, prefix="sha256/", recursive=True):
                yield item.object_name

    def download_url(self, key: str, *, filename: str, content_type: str) -> str | None:
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        with self._errors(f"sign a download of {key}"):
            return self.client.presigned_get_object(
                self.bucket, key, expires=timedelta(seconds=settings.S3_PRESIGNED_URL_SECONDS),
                response_headers={"response-content-disposition": disposition, "response-content-type": content_type},
            )

    def check(self) -> str:
        self._bucket_ready = False
        self.ensure_bucket()
        return f"s3 {self.endpoint}/{self.bucket}"


@functools.lru_cache(maxsize=8)
def _backend(kind: str, local_root: str, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool,
             region: str, staging_dir: str) -> StorageBackend:
    if kind == "s3":
        return S3Backend(endpoint=endpoint, access_key=access_key, secret_key=secret_key, bucket=bucket,
                         secure=secure, region=region, staging_dir=Path(staging_dir))
    if kind == "local":
        return LocalBackend(Path(local_root))
    raise ValueError(f"Unknown STORAGE_BACKEND {kind!r}: use 'local' or 's3'.")


def get_backend() -> StorageBackend:
    """The backend the settings name now (cached per configuration, so tests may switch settings)."""
    return _backend(
        settings.STORAGE_BACKEND, str(settings.STORAGE_LOCAL_ROOT), settings.S3_ENDPOINT, settings.S3_ACCESS_KEY,
        settings.S3_SECRET_KEY, settings.S3_BUCKET, settings.S3_SECURE, settings.S3_REGION,
        str(settings.STORAGE_STAGING_DIR),
    )
