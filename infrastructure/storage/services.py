"""Writes for object storage: store a file (streamed, hashed, deduplicated, within quota) and delete one.

An object is stored before its row is created and removed only after the last row that names it is
gone, so a row never points at nothing (outages leave, at worst, an unreferenced object, which
`aigc storage check` lists).
"""

import hashlib
import logging
import uuid
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import ProtectedError, Sum
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

from aigc_platform.audit.services import audit_record
from aigc_platform.core.errors import Conflict, PayloadTooLarge
from aigc_platform.core.health import Finding
from infrastructure.storage import local_cache
from infrastructure.storage.backends import CHUNK_SIZE, get_backend, object_key
from infrastructure.storage.models import File
from infrastructure.storage.staging import StagedUpload, Stager, too_large_error

logger = logging.getLogger(__name__)

FILENAME_MAX = 255


def _clean_filename(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip() or "file"
    if len(name) > FILENAME_MAX:
        stem, dot, suffix = name.rpartition(".")
        name = (
            (stem[: FILENAME_MAX - len(suffix) - 1] + dot + suffix) if dot and len(suffix) < 16 else name[:FILENAME_MAX]
        )
    return name


def _quota_check(*, owner, filename: str, size: int) -> None:
    quota = settings.STORAGE_USER_QUOTA_BYTES
    if owner is None or not quota:
        return
    used = File.objects.filter(owner=owner).aggregate(total=Sum("size"))["total"] or 0
    if used + size > quota:
        raise PayloadTooLarge(
            gettext(
                "Storing %(filename)r (%(value)s) would exceed your storage quota: %(value2)s of %(value3)s used. Delete files to make room; nothing was stored."
            )
            % {
                "filename": filename,
                "value": filesizeformat(size),
                "value2": filesizeformat(used),
                "value3": filesizeformat(quota),
            },
            code="quota_exceeded",
        )


def file_store_staged(*, owner, staged: StagedUpload, filename: str) -> File:
    """Store an upload already staged (by `file_store` or the upload handler) and create its row.
    What was staged and not kept is removed whatever happens."""
    backend = get_backend()
    filename = _clean_filename(filename)
    try:
        if settings.STORAGE_MAX_UPLOAD_BYTES and staged.size > settings.STORAGE_MAX_UPLOAD_BYTES:
            raise too_large_error(filename, settings.STORAGE_MAX_UPLOAD_BYTES)
        _quota_check(owner=owner, filename=filename, size=staged.size)
        key, written = staged.upload.save(staged.sha256)
        try:
            with transaction.atomic():
                if owner is not None:
                    # Serialises a user's concurrent uploads, so together they cannot pass the quota.
                    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
                    _quota_check(owner=owner, filename=filename, size=staged.size)
                file = File.objects.create(
                    owner=owner,
                    filename=filename,
                    size=staged.size,
                    sha256=staged.sha256,
                    content_type=staged.content_type,
                    key=key,
                )
        except Exception:
            if written:
                _delete_object_if_unreferenced(key)
            raise
        if key != object_key(staged.sha256):
            _share_equal_object(file)
        elif not backend.exists(key):
            # A concurrent delete of the last other row removed the object meanwhile: put it back.
            staged.upload.save(staged.sha256)
        return file
    finally:
        staged.upload.discard()


def _share_equal_object(file: File) -> None:
    """A large S3 upload was stored under a key of its own (S3Upload says why); where another File
    already has the same bytes, both rows now name that object and this upload's copy goes."""
    own = file.key
    twin = (
        File.objects.filter(sha256=file.sha256, size=file.size).exclude(key=own).values_list("key", flat=True).first()
    )
    if twin is None:
        return
    File.objects.filter(pk=file.pk).update(key=twin)
    if get_backend().exists(twin):
        file.key = twin
        _delete_object_if_unreferenced(own)
    else:
        # The other file's object went meanwhile (its last row was deleted): keep this upload's own.
        File.objects.filter(pk=file.pk).update(key=own)


def file_store(*, owner, stream: BinaryIO, filename: str, content_type: str | None = None) -> File:
    """Store what `stream` yields as a new File of `owner` (None: a system file); bounded memory.
    `content_type` names what the bytes cannot (sniffing says application/octet-stream).
    Raises PayloadTooLarge (413) over the maximum upload size or the owner's quota, storing nothing."""
    stager = Stager(
        get_backend(), filename=filename, max_bytes=settings.STORAGE_MAX_UPLOAD_BYTES, content_type=content_type
    )
    try:
        while chunk := stream.read(CHUNK_SIZE):
            stager.write(chunk)
    except BaseException:
        stager.discard()
        raise
    return file_store_staged(owner=owner, staged=stager.finish(), filename=filename)


def file_store_path(*, owner, path: Path, filename: str | None = None, content_type: str | None = None) -> File:
    """Store a local file (a checkpoint, an export) as a new File; it is copied, never moved."""
    path = Path(path)
    with path.open("rb") as stream:
        return file_store(owner=owner, stream=stream, filename=filename or path.name, content_type=content_type)


def _delete_object_if_unreferenced(key: str) -> None:
    if File.objects.filter(key=key).exists():
        return
    try:
        get_backend().delete(key)
    except Exception:
        logger.warning(
            "Could not delete the unreferenced object %s; `aigc storage check` lists it.", key, exc_info=True
        )


def file_delete(*, file: File, actor=None, request=None) -> None:
    """Delete the row; its object goes too once no other row names it (after the transaction commits).
    A deletion a person asked for (`actor`) is recorded in the audit log."""
    key = file.key
    with transaction.atomic():
        try:
            if actor is not None:
                audit_record(
                    action="file_deleted",
                    actor=actor,
                    target=file,
                    request=request,
                    detail={"filename": file.filename, "size": file.size, "sha256": file.sha256},
                )
            file.delete()
        except ProtectedError as error:
            users = sorted({obj._meta.verbose_name for obj in error.protected_objects})
            raise Conflict(
                gettext("%(filename)r is in use (%(names)s) and cannot be deleted.")
                % {"filename": file.filename, "names": ", ".join(users)}
            ) from None
        transaction.on_commit(lambda: _delete_object_if_unreferenced(key))


PROBE_BYTES = b"aigc doctor probe\n" * 64


def _storage_fix() -> str:
    if settings.STORAGE_BACKEND == "s3":
        return (
            "Check S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_BUCKET, and that the S3 server (MinIO) is running "
            "and these credentials may write to the bucket."
        )
    return f"Check that the directory {settings.STORAGE_LOCAL_ROOT} (AIGC_STORAGE_DIR) exists and is writable by this user."


def storage_probe() -> list[Finding]:
    """`aigc doctor`'s storage check: a probe object written, read back and deleted through the backend."""
    # Bytes of this run alone, so the probe's object (named by its hash) is never a user's file.
    probe = PROBE_BYTES + uuid.uuid4().hex.encode()
    try:
        backend = get_backend()
        where = backend.check()
    except Exception as error:
        return [
            Finding(
                "storage", False, f"Object storage cannot be used: {getattr(error, 'message', error)}", _storage_fix()
            )
        ]
    step = "write"
    upload = None
    try:
        upload = backend.upload(content_type="application/octet-stream")
        upload.write(probe)
        key, _ = upload.save(hashlib.sha256(probe).hexdigest())
        step = "read back"
        with backend.open(key) as source:
            read = source.read()
        if read != probe:
            return [
                Finding(
                    "storage",
                    False,
                    f"{where}: a probe object read back {len(read)} bytes that differ from the {len(probe)} written",
                    "The storage server returns corrupt data; check its disks.",
                )
            ]
        step = "delete"
        backend.delete(key)
        if backend.exists(key):
            return [
                Finding(
                    "storage",
                    False,
                    f"{where}: a deleted probe object is still there",
                    "Check that the storage credentials may delete objects.",
                )
            ]
    except Exception as error:
        return [
            Finding(
                "storage",
                False,
                f"{where}: could not {step} a probe object: {getattr(error, 'message', error)}",
                _storage_fix(),
            )
        ]
    finally:
        if upload is not None:
            upload.discard()
    return [Finding("storage", True, f"{where}: a probe object was written, read back and deleted")]


def local_copies_evict(
    *, max_bytes: int | None = None, max_age_seconds: float | None = None, min_idle_seconds: float | None = None
) -> dict[str, int]:
    """Evict this machine's local copies of objects and the checkpoint folders made from them, by age
    and size, never one in use (infrastructure.storage.local_cache; defaults: the LOCAL_CACHE_* settings)."""
    return local_cache.evict(max_bytes=max_bytes, max_age_seconds=max_age_seconds, min_idle_seconds=min_idle_seconds)


def local_copies_make_room(*, incoming_bytes: int = 0) -> None:
    """local_copies_evict with the settings, before a copy or a folder of about `incoming_bytes` is added."""
    local_cache.make_room(incoming_bytes=incoming_bytes)
