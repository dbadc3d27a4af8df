"""An upload on its way in: written to a staging file in chunks while it is hashed and measured,
so that no upload, however large, is ever held in memory."""
import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.template.defaultfilters import filesizeformat

from aigc_platform.core.errors import PayloadTooLarge
from infrastructure.storage.backends import StorageBackend
from infrastructure.storage.sniff import SNIFF_BYTES


@dataclass(frozen=True)
class StagedUpload:
    """A complete upload in a staging file: its bytes are known, its object not yet written."""

    path: Path
    size: int
    sha256: str
    head: bytes


def too_large_error(filename: str, max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{filename!r} is larger than the maximum upload size of {filesizeformat(max_bytes)}; nothing was stored.",
        code="upload_too_large",
    )


class Stager:
    """Receives chunks; `finish()` gives the StagedUpload, `discard()` removes what was written."""

    def __init__(self, backend: StorageBackend, *, filename: str, max_bytes: int):
        self.filename = filename
        self.max_bytes = max_bytes
        self._file, self.path = backend.staging_file()
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.max_bytes and self.size > self.max_bytes:
            self.discard()
            raise too_large_error(self.filename, self.max_bytes)
        if len(self._head) < SNIFF_BYTES:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
        self._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> StagedUpload:
        self._file.close()
        return StagedUpload(path=self.path, size=self.size, sha256=self._hash.hexdigest(), head=bytes(self._head))

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)
