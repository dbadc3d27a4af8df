"""An upload on its way in: hashed and measured chunk by chunk while the backend writes it, so that no
upload, however large, is ever held in memory, and its bytes are read once."""

import hashlib
from dataclasses import dataclass

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

from aigc_platform.core.errors import PayloadTooLarge
from infrastructure.storage.backends import StorageBackend, Upload
from infrastructure.storage.sniff import OCTET_STREAM, SNIFF_BYTES, sniff_content_type


@dataclass(frozen=True)
class StagedUpload:
    """A complete upload: its bytes are known and written, its object not yet named (`upload.save`)."""

    upload: Upload
    size: int
    sha256: str
    content_type: str


def too_large_error(filename: str, max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        gettext("%(filename)r is larger than the maximum upload size of %(value)s; nothing was stored.")
        % {"filename": filename, "value": filesizeformat(max_bytes)},
        code="upload_too_large",
    )


class Stager:
    """Receives chunks; `finish()` gives the StagedUpload, `discard()` removes what was written.

    The content type is sniffed from the first SNIFF_BYTES (a client's word is not trusted), so the
    backend's upload starts once they are here: an S3 object is typed before its first part goes up.
    `content_type` is a caller's hint, used only where the bytes say nothing (an internal file's type)."""

    def __init__(self, backend: StorageBackend, *, filename: str, max_bytes: int, content_type: str | None = None):
        self.filename = filename
        self.max_bytes = max_bytes
        self._backend, self._hint = backend, content_type
        self._upload: Upload | None = None
        self._head = bytearray()
        self._hash = hashlib.sha256()
        self.size = 0
        self.content_type = OCTET_STREAM

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.max_bytes and self.size > self.max_bytes:
            self.discard()
            raise too_large_error(self.filename, self.max_bytes)
        self._hash.update(chunk)
        if self._upload is not None:
            self._upload.write(chunk)
            return
        self._head += chunk
        if len(self._head) >= SNIFF_BYTES:
            self._start(complete=False)

    def _start(self, *, complete: bool) -> None:
        sniffed = sniff_content_type(bytes(self._head[:SNIFF_BYTES]), complete=complete)
        self.content_type = self._hint if sniffed == OCTET_STREAM and self._hint else sniffed
        self._upload = self._backend.upload(content_type=self.content_type)
        self._upload.write(bytes(self._head))
        self._head = bytearray()

    def finish(self) -> StagedUpload:
        if self._upload is None:
            self._start(complete=True)
        return StagedUpload(
            upload=self._upload, size=self.size, sha256=self._hash.hexdigest(), content_type=self.content_type
        )

    def discard(self) -> None:
        self._head = bytearray()
        if self._upload is not None:
            self._upload.discard()
