"""Cleaning and storing new items of a dataset, all or nothing.

Why text is stored in shards. Storing each of 100,000 short lines as its own object would cost
100,000 storage writes and 100,000 File rows, most of the 60 s an import of that size may take, and
an S3 server pays a request per object on top. So consecutive text (and preference) items are
concatenated into shard objects of about SHARD_TARGET_BYTES; each item row records its shard, the
offset and length of its bytes there, and the SHA-256 of exactly those bytes, so one item is still
addressable and verifiable alone, and reading a whole version reads each shard once. A shard is
small enough (1 MiB) that fetching one item from it is cheap. Images stay one object each: they
are large, shown one by one (thumbnails), and equal images are then stored once by the storage's
content addressing.

Nothing is half-imported: item rows are created only by `commit`, in one transaction, after the
whole input was read and checked; the objects written before a failure are deleted by `abort`.
"""

import hashlib
import io
import json
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from infrastructure.storage.models import File
from infrastructure.storage.services import file_delete, file_store
from tools_layer.datasets.models import Dataset, DatasetItem
from tools_layer.datasets.parsers import RawItem

SHARD_TARGET_BYTES = 1024 * 1024
PREVIEW_CHARS = 500
# Rows per INSERT: large enough to amortise the round trip, small enough to keep each statement modest.
INSERT_BATCH = 2000
LOOKUP_BATCH = 5000
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
PAIR_CONTENT_TYPE = "application/json"


@dataclass
class CleaningCounts:
    read: int = 0
    added: int = 0
    duplicates: int = 0
    empty: int = 0
    too_long: int = 0
    skipped_files: int = 0


def pair_bytes(pair: dict[str, str]) -> bytes:
    """The canonical bytes of a preference pair, so equal pairs hash equally."""
    return json.dumps(
        {"prompt": pair["prompt"], "a": pair["a"], "b": pair["b"]},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


@dataclass
class _Pending:
    sha256: str
    label: str
    preview: str
    blob: int  # index into ItemWriter.blobs, or of the shard being filled
    offset: int
    length: int
    content_type: str
    meta: dict
    flags: dict  # derived, augmented, pii_scanned


class ItemWriter:
    """Takes raw items one by one, drops duplicates, empty and over-long ones (counting them), writes
    the bytes to storage as it goes, and creates every row at `commit`."""

    def __init__(self, *, dataset: Dataset, owner, max_chars: int, job_id=None):
        self.dataset, self.owner, self.max_chars, self.job_id = dataset, owner, max_chars, job_id
        self.counts = CleaningCounts()
        self.seen = set(DatasetItem.objects.filter(dataset=dataset).values_list("sha256", flat=True))
        self.blobs: list[File] = []
        self.written: list[File] = []
        self.pending: list[_Pending] = []
        self.shard = bytearray()
        self._meta: dict = {}
        self._flags: dict = {}

    def add(self, raw: RawItem, *, meta: dict | None = None, **flags: bool) -> None:
        """One raw item; `flags` (derived, augmented, pii_scanned) and `meta` go on its row."""
        self.counts.read += 1
        self._meta, self._flags = meta or {}, flags
        if raw.image is not None:
            self._add_image(raw)
        elif raw.pair is not None:
            pair = {key: value.strip() for key, value in raw.pair.items()}
            if not pair["a"] or not pair["b"]:
                self.counts.empty += 1
            elif max(len(value) for value in pair.values()) > self.max_chars:
                self.counts.too_long += 1
            else:
                preview = f"{pair['prompt']}\n→ {pair['a']}\n→ {pair['b']}"[:PREVIEW_CHARS]
                self._add_bytes(pair_bytes(pair), raw.label, preview, PAIR_CONTENT_TYPE)
        else:
            text = (raw.text or "").strip()
            if not text:
                self.counts.empty += 1
            elif len(text) > self.max_chars:
                self.counts.too_long += 1
            else:
                self._add_bytes(text.encode(), raw.label, text[:PREVIEW_CHARS], TEXT_CONTENT_TYPE)

    def add_copy(self, item: DatasetItem, *, label: str) -> None:
        """Another item's stored bytes under a (new) label: no bytes are copied."""
        self.counts.read += 1
        if self._is_duplicate(item.sha256):
            return
        self.blobs.append(item.blob)
        self.pending.append(
            _Pending(
                item.sha256,
                label,
                item.preview,
                len(self.blobs) - 1,
                item.offset,
                item.length,
                item.content_type,
                dict(item.meta),
                {"pii_scanned": item.pii_scanned},
            )
        )

    def skip_file(self) -> None:
        self.counts.skipped_files += 1

    def _is_duplicate(self, sha256: str) -> bool:
        if sha256 in self.seen:
            self.counts.duplicates += 1
            return True
        self.seen.add(sha256)
        return False

    def _add_bytes(self, data: bytes, label: str, preview: str, content_type: str) -> None:
        sha256 = hashlib.sha256(data).hexdigest()
        if self._is_duplicate(sha256):
            return
        self.pending.append(
            _Pending(
                sha256,
                label,
                preview,
                len(self.blobs),
                len(self.shard),
                len(data),
                content_type,
                dict(self._meta),
                self._flags,
            )
        )
        self.shard += data
        if len(self.shard) >= SHARD_TARGET_BYTES:
            self._flush_shard()

    def _flush_shard(self) -> None:
        if not self.shard:
            return
        name = f"dataset-{self.dataset.pk}-shard-{len(self.blobs)}.bin"
        self._store(io.BytesIO(bytes(self.shard)), name, "application/octet-stream")
        self.shard = bytearray()

    def _store(self, stream, filename: str, content_type: str) -> File:
        file = file_store(owner=self.owner, stream=stream, filename=filename, content_type=content_type)
        self.written.append(file)
        self.blobs.append(file)
        return file

    def _add_image(self, raw: RawItem) -> None:
        sha256 = hashlib.sha256(raw.image).hexdigest()
        if self._is_duplicate(sha256):
            return
        # The shard being filled keeps its index: it is flushed before the image takes the next one.
        self._flush_shard()
        content_type = "image/png" if raw.image_format == "PNG" else "image/jpeg"
        self._store(io.BytesIO(raw.image), raw.filename, content_type)
        meta = {"filename": raw.filename, "width": raw.width, "height": raw.height, **self._meta}
        self.pending.append(
            _Pending(
                sha256, raw.label, raw.filename, len(self.blobs) - 1, 0, len(raw.image), content_type, meta, self._flags
            )
        )

    def commit(self) -> dict:
        """Create every row at once. Items another import committed meanwhile count as duplicates."""
        self._flush_shard()
        with transaction.atomic():
            Dataset.objects.select_for_update().filter(pk=self.dataset.pk).first()
            wanted = [pending.sha256 for pending in self.pending]
            taken: set[str] = set()
            for start in range(0, len(wanted), LOOKUP_BATCH):
                taken.update(
                    DatasetItem.objects.filter(
                        dataset=self.dataset, sha256__in=wanted[start : start + LOOKUP_BATCH]
                    ).values_list("sha256", flat=True)
                )
            rows = [
                DatasetItem(
                    dataset=self.dataset,
                    sha256=p.sha256,
                    label=p.label,
                    preview=p.preview,
                    blob=self.blobs[p.blob],
                    offset=p.offset,
                    length=p.length,
                    content_type=p.content_type,
                    meta=p.meta,
                    import_job_id=self.job_id,
                    **p.flags,
                )
                for p in self.pending
                if p.sha256 not in taken
            ]
            DatasetItem.objects.bulk_create(rows, batch_size=INSERT_BATCH)
            Dataset.objects.filter(pk=self.dataset.pk).update(updated_at=timezone.now())
        self.counts.duplicates += len(self.pending) - len(rows)
        self.counts.added = len(rows)
        self.pending, self.written = [], []
        return asdict(self.counts)

    def abort(self) -> None:
        """Delete every object this writer stored; no row was created."""
        for file in self.written:
            file_delete(file=file)
        self.written, self.blobs, self.pending, self.shard = [], [], [], bytearray()
