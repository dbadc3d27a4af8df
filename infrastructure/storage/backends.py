"""The storage interface and its two backends: a local directory, and any S3 server through the minio SDK.

Objects are immutable and named by their SHA-256, so every write is "make this key exist with these
bytes": a backend never overwrites, and a half-written object is never visible under its key. An
upload is written while it arrives (an `Upload`), before its hash is known; `save` names it. The one
exception to hash names is a large upload to S3 (see `S3Upload`).
"""

import contextlib
import functools
import io
import logging
import os
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext

from aigc_platform.core.byte_queue import ByteQueue, immutable
from aigc_platform.core.errors import NotFound, ServiceUnavailable
from infrastructure.storage import minio_multipart

logger = logging.getLogger(__name__)

# Bytes read or written per step when streaming: large enough to keep syscalls and Python overhead
# small, small enough that many concurrent transfers stay far from the memory budget.
CHUNK_SIZE = 1024 * 1024
# S3 multipart: the part size and how many parts go up at once. An upload holds the parts in flight
# and the one filling in memory, so a transfer costs about S3_PART_SIZE * (S3_PARALLEL_PARTS + 1)
# (40 MiB). Measured against SeaweedFS with 256 MiB: 8 MiB x 4 was faster than 16 x 4 or 32 x 2.
S3_PART_SIZE = 8 * 1024 * 1024
S3_PARALLEL_PARTS = 4
# Where a streamed S3 upload lives (under a random name: see S3Upload); every key is under one of these.
HASH_PREFIX = "sha256/"
STREAMED_PREFIX = "uploads/"


def object_key(sha256: str) -> str:
    return f"{HASH_PREFIX}{sha256[:2]}/{sha256[2:4]}/{sha256}"


class Upload(ABC):
    """Bytes on their way into storage, written as they arrive: `write` each chunk, then `save` names
    the object once its hash is known. `discard` removes whatever was written and not saved; it is
    called whatever happens, also after `save`."""

    @abstractmethod
    def write(self, chunk: bytes) -> None: ...

    @abstractmethod
    def save(self, sha256: str) -> tuple[str, bool]:
        """Make the bytes an object; its key, and whether this call wrote it (False: the key existed).
        May be called again (until `discard`) to put the object back if it went missing meanwhile."""

    @abstractmethod
    def discard(self) -> None: ...


class StorageBackend(ABC):
    """What every layer's storage goes through; services and selectors pick one with `get_backend`."""

    name: str

    @abstractmethod
    def upload(self, *, content_type: str) -> Upload:
        """Start writing a new object (its type is sniffed from its first bytes by the caller)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""

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


class LocalUpload(Upload):
    """Written to a staging file inside the storage directory, then hard-linked under its key (atomic, no copy)."""

    def __init__(self, backend: "LocalBackend"):
        self._backend = backend
        backend.staging_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", dir=backend.staging_dir)
        self._file, self._path = os.fdopen(fd, "wb"), Path(name)

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def save(self, sha256: str) -> tuple[str, bool]:
        self._file.close()
        key = object_key(sha256)
        target = self._backend._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(self._path, target)
        except FileExistsError:
            return key, False
        except OSError:
            # No hard links here (another filesystem): copy beside the target, then rename atomically.
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
            with open(self._path, "rb") as source, open(partial, "wb") as sink:
                while chunk := source.read(CHUNK_SIZE):
                    sink.write(chunk)
                sink.flush()
                os.fsync(sink.fileno())
            if target.exists():
                partial.unlink()
                return key, False
            os.replace(partial, target)
        return key, True

    def discard(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


class LocalBackend(StorageBackend):
    """A directory: uploads are staged inside it, then hard-linked into place."""

    name = "local"

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def staging_dir(self) -> Path:
        return self.root / ".incoming"

    def _path(self, key: str) -> Path:
        return self.root / key

    def upload(self, *, content_type: str) -> Upload:
        return LocalUpload(self)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        try:
            stream = open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound(gettext("The object %(key)s is missing from storage.") % {"key": key}) from None
        with stream:
            yield stream

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        base = self.root / HASH_PREFIX
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
            raise ServiceUnavailable(gettext("The storage directory %(root)s is not writable.") % {"root": self.root})
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


class S3Upload(Upload):
    """Bytes sent to S3 while they arrive. Up to one part they wait in memory, then go up in one PUT
    under their hash's key at `save`. A larger upload goes up part by part as a multipart upload while
    the rest still arrives (S3_PARALLEL_PARTS at once), under a random key below STREAMED_PREFIX: an S3
    object is named before its first byte and cannot be renamed, and naming it by its hash would mean
    holding the whole upload until it is hashed, or a server-side copy of every byte afterwards (1.8 s
    for 256 MiB on SeaweedFS, a third of the upload). Its File row still carries the SHA-256, by which
    the services find an equal object and share it (see `file_store_staged`).

    The parts go through the SDK's multipart calls (infrastructure/storage/minio_multipart.py says why not
    its `put_object`)."""

    def __init__(self, backend: "S3Backend", *, content_type: str):
        self._backend, self._content_type = backend, content_type
        # The part being filled, as the chunks that arrived: joined once when the part is full.
        self._filling = ByteQueue()
        self._key: str | None = None
        self._upload_id: str | None = None
        self._parts: list[Future] = []
        self._pool: ThreadPoolExecutor | None = None
        self._completed = False

    def write(self, chunk: bytes | memoryview) -> None:
        self._filling.append(immutable(chunk))  # kept until sent: never a buffer its caller may reuse
        # Strictly more than a part: a body of exactly one part stays a single PUT.
        while len(self._filling) > S3_PART_SIZE:
            self._send_part(self._filling.take(S3_PART_SIZE))

    def _send_part(self, data: bytes) -> None:
        client, bucket = self._backend.client, self._backend.bucket
        if self._upload_id is None:
            self._key = f"{STREAMED_PREFIX}{uuid.uuid4().hex}"
            with self._backend._errors(f"store {self._key}"):
                self._upload_id = minio_multipart.multipart_create(
                    client, bucket=bucket, key=self._key, content_type=self._content_type
                )
            self._pool = ThreadPoolExecutor(S3_PARALLEL_PARTS, thread_name_prefix="s3-upload")
        self._wait_for_parts(below=S3_PARALLEL_PARTS)
        number = len(self._parts) + 1

        def send() -> str:
            with self._backend._errors(f"store part {number} of {self._key}"):
                return minio_multipart.multipart_upload_part(
                    client, bucket=bucket, key=self._key, upload_id=self._upload_id, number=number, data=data
                )

        self._parts.append(self._pool.submit(send))

    def _wait_for_parts(self, *, below: int) -> None:
        """Until fewer than `below` parts are in flight; a part that failed raises here."""
        while len(pending := [part for part in self._parts if not part.done()]) >= below:
            wait(pending, return_when=FIRST_COMPLETED)
        for part in self._parts:
            if part.done() and part.exception() is not None:
                raise part.exception()

    def save(self, sha256: str) -> tuple[str, bool]:
        client, bucket = self._backend.client, self._backend.bucket
        if self._upload_id is None:
            key = object_key(sha256)
            if self._backend.exists(key):
                return key, False
            with self._backend._errors(f"store {key}"):
                data = self._filling.take(len(self._filling))
                client.put_object(bucket, key, io.BytesIO(data), len(data), content_type=self._content_type)
            return key, True
        if not self._completed:
            if self._filling:
                self._send_part(self._filling.take(len(self._filling)))
            self._wait_for_parts(below=1)
            etags = [part.result() for part in self._parts]
            with self._backend._errors(f"store {self._key}"):
                minio_multipart.multipart_complete(
                    client, bucket=bucket, key=self._key, upload_id=self._upload_id, etags=etags
                )
            self._completed = True
        return self._key, True

    def discard(self) -> None:
        self._filling.clear()
        if self._pool is None:
            return
        for part in self._parts:
            part.cancel()
        self._pool.shutdown(wait=True)
        self._pool = None
        if not self._completed:
            try:
                minio_multipart.multipart_abort(
                    self._backend.client, bucket=self._backend.bucket, key=self._key, upload_id=self._upload_id
                )
            except Exception:
                logger.warning(
                    "Could not abort the multipart upload of %s; the S3 server's lifecycle rules remove it.",
                    self._key,
                    exc_info=True,
                )


class S3Backend(StorageBackend):
    """Any S3 API server (MinIO, SeaweedFS) through the minio SDK; the bucket is created when missing."""

    name = "s3"

    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool, region: str):
        import urllib3
        from minio import Minio

        self.endpoint = endpoint
        self.bucket = bucket
        # Fail fast when the server is down (the SDK's default client retries for long): a user waits.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=60),
            maxsize=16,
            cert_reqs="CERT_REQUIRED" if secure else "CERT_NONE",
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http
        )
        self._bucket_ready = False

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Connection failures become a 503 that says what was being done, and where."""
        from minio.error import MinioException, S3Error
        from urllib3.exceptions import HTTPError

        try:
            yield
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject"):
                raise NotFound(
                    gettext("The object %(value)s is missing from storage.") % {"value": error.object_name or ""}
                ) from error
            raise ServiceUnavailable(
                gettext("Object storage refused to %(action)s: %(code)s: %(message)s")
                % {"action": action, "code": error.code, "message": error.message}
            ) from error
        except (HTTPError, MinioException, OSError) as error:
            raise ServiceUnavailable(
                gettext("Object storage at %(endpoint)s is unreachable (%(action)s): %(error)s")
                % {"endpoint": self.endpoint, "action": action, "error": error}
            ) from error

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

    def upload(self, *, content_type: str) -> Upload:
        self.ensure_bucket()
        return S3Upload(self, content_type=content_type)

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
            for prefix in (HASH_PREFIX, STREAMED_PREFIX):
                for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                    yield item.object_name

    def download_url(self, key: str, *, filename: str, content_type: str) -> str | None:
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        with self._errors(f"sign a download of {key}"):
            return self.client.presigned_get_object(
                self.bucket,
                key,
                expires=timedelta(seconds=settings.S3_PRESIGNED_URL_SECONDS),
                response_headers={"response-content-disposition": disposition, "response-content-type": content_type},
            )

    def check(self) -> str:
        self._bucket_ready = False
        self.ensure_bucket()
        return f"s3 {self.endpoint}/{self.bucket}"


@functools.lru_cache(maxsize=8)
def _backend(
    kind: str, local_root: str, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool, region: str
) -> StorageBackend:
    if kind == "s3":
        return S3Backend(
            endpoint=endpoint, access_key=access_key, secret_key=secret_key, bucket=bucket, secure=secure, region=region
        )
    if kind == "local":
        return LocalBackend(Path(local_root))
    raise ValueError(f"Unknown STORAGE_BACKEND {kind!r}: use 'local' or 's3'.")


def get_backend() -> StorageBackend:
    """The backend the settings name now (cached per configuration, so tests may switch settings)."""
    return _backend(
        settings.STORAGE_BACKEND,
        str(settings.STORAGE_LOCAL_ROOT),
        settings.S3_ENDPOINT,
        settings.S3_ACCESS_KEY,
        settings.S3_SECRET_KEY,
        settings.S3_BUCKET,
        settings.S3_SECURE,
        settings.S3_REGION,
    )
