"""Reads for datasets, and what training reads: the examples of a frozen version, split by split.

for example in dataset_version_items(version=version, split="train"):
    example.text      # a text item's text (kind "text")
    example.image     # an image item's PNG or JPEG bytes (kind "image")
    example.pair      # a preference item's {"prompt", "a", "b"} (kind "preference")
    example.label     # "" when unlabelled; for a preference pair, the winner: "a", "b" or "tie"
"""

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext
from PIL import Image

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import ApplicationError, NotFound
from infrastructure.storage.selectors import file_get, file_open
from tools_layer.datasets.models import Dataset, DatasetItem, DatasetKind, DatasetVersion, Split, VersionItem

ITERATION_CHUNK = 2000


@dataclass(frozen=True)
class Example:
    """One item of a version, with its bytes read from storage and checked against its SHA-256."""

    item_id: int
    kind: str
    split: str
    label: str
    sha256: str
    content_type: str
    text: str | None = None
    image: bytes | None = None
    pair: dict | None = None
    augmented: bool = False
    pii_scanned: bool = False
    source_item: int | None = None


def datasets_visible_to(*, user) -> QuerySet[Dataset]:
    return owned_by(Dataset.objects.select_related("owner"), user).annotate(item_count=Count("items", distinct=True))


def dataset_get(*, user, pk) -> Dataset:
    try:
        return owned_by(Dataset.objects.select_related("owner"), user).get(pk=pk)
    except (Dataset.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(gettext("No dataset with id %(pk)s.") % {"pk": pk}) from None


def dataset_items(*, dataset: Dataset, search: str = "", label: str | None = None) -> QuerySet[DatasetItem]:
    """Imported items in import order (not those a preparation step made, which belong to its
    versions); `search` matches the start of the text (its first 500 characters, kept in the
    database) or the label, case-insensitively."""
    items = DatasetItem.objects.filter(dataset=dataset, derived=False).order_by("id")
    if search:
        items = items.filter(Q(preview__icontains=search) | Q(label__iexact=search))
    if label is not None:
        items = items.filter(label=label)
    return items


def dataset_item_get(*, dataset: Dataset, pk) -> DatasetItem:
    try:
        return DatasetItem.objects.select_related("blob").get(dataset=dataset, pk=pk)
    except (DatasetItem.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext("No item %(pk)s in this dataset.") % {"pk": pk}) from None


def dataset_label_counts(*, dataset: Dataset) -> list[dict]:
    rows = (
        DatasetItem.objects.filter(dataset=dataset, derived=False)
        .values("label")
        .annotate(count=Count("id"))
        .order_by("-count", "label")
    )
    return [{"label": row["label"], "count": row["count"]} for row in rows]


def dataset_versions(*, dataset: Dataset) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset=dataset).select_related("created_by", "manifest").order_by("-number")


def dataset_version_get(*, user, pk) -> DatasetVersion:
    """A version by id, if the user may see its dataset (what a training job is given)."""
    try:
        return owned_by(DatasetVersion.objects.select_related("dataset"), user, owner_field="dataset__owner").get(pk=pk)
    except (DatasetVersion.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(gettext("No dataset version with id %(pk)s.") % {"pk": pk}) from None


def dataset_version_of(*, dataset: Dataset, pk) -> DatasetVersion:
    try:
        return DatasetVersion.objects.select_related("dataset", "dataset__owner", "created_by").get(
            dataset=dataset, pk=pk
        )
    except (DatasetVersion.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(gettext("No version %(pk)s of this dataset.") % {"pk": pk}) from None


def _read_range(stream, offset: int, length: int) -> bytes:
    if stream.seekable():
        stream.seek(offset)
    else:
        remaining = offset
        while remaining:
            skipped = stream.read(min(remaining, 1024 * 1024))
            if not skipped:
                break
            remaining -= len(skipped)
    return stream.read(length)


def _verified(data: bytes, *, item_id: int, sha256: str) -> bytes:
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ApplicationError(
            gettext("Dataset item %(item_id)s does not match its SHA-256: its stored bytes changed or are missing.")
            % {"item_id": item_id},
            code="corrupt_item",
        )
    return data


def dataset_item_bytes(*, item: DatasetItem) -> bytes:
    """One item's bytes, read from its shard (or its own object) and verified."""
    with file_open(file=item.blob) as stream:
        data = _read_range(stream, item.offset, item.length)
    return _verified(data, item_id=item.pk, sha256=item.sha256)


def decode_item(kind: str, data: bytes) -> dict:
    """What an item holds, by kind: {"text"}, {"image"} (bytes) or {"pair": {"prompt", "a", "b"}}."""
    if kind == DatasetKind.IMAGE:
        return {"image": data}
    if kind == DatasetKind.PREFERENCE:
        return {"pair": json.loads(data)}
    return {"text": data.decode()}


def dataset_item_content(*, item: DatasetItem, kind: str | None = None) -> dict:
    return decode_item(kind or item.dataset.kind, dataset_item_bytes(item=item))


def dataset_version_items(*, version: DatasetVersion, split: str | None = None) -> Iterator[Example]:
    """Every example of a frozen version (only one split's with split="train", "validation" or "test"), in
    item-id order, each verified against the manifest's SHA-256. Memory stays at one shard (1 MiB)
    or one image: consecutive text items share a shard, which is read once."""
    if split is not None and split not in Split.values:
        raise ApplicationError(gettext("Unknown split %(split)r; use train, validation or test.") % {"split": split})
    kind, owner = version.dataset.kind, version.dataset.owner
    entries = VersionItem.objects.filter(version=version).order_by("item_id")
    if split is not None:
        entries = entries.filter(split=split)
    rows = entries.values_list(
        "item_id",
        "split",
        "item__label",
        "item__sha256",
        "item__content_type",
        "item__blob_id",
        "item__offset",
        "item__length",
        "item__augmented",
        "item__pii_scanned",
        "item__meta__source_item",
    )
    shard_id, shard = None, b""
    for (
        item_id,
        item_split,
        label,
        sha256,
        content_type,
        blob_id,
        offset,
        length,
        augmented,
        pii_scanned,
        source_item,
    ) in rows.iterator(chunk_size=ITERATION_CHUNK):
        if blob_id != shard_id:
            with file_open(file=file_get(user=owner, pk=blob_id)) as stream:
                shard = stream.read()
            shard_id = blob_id
        data = _verified(shard[offset : offset + length], item_id=item_id, sha256=sha256)
        yield Example(
            item_id=item_id,
            kind=kind,
            split=item_split,
            label=label,
            sha256=sha256,
            content_type=content_type,
            augmented=augmented,
            pii_scanned=pii_scanned,
            source_item=source_item,
            **decode_item(kind, data),
        )


def image_thumbnail(data: bytes, *, size: int = 128) -> bytes:
    """A PNG thumbnail of an image item, at most `size` pixels on its longer side."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.convert("RGB" if image.mode not in ("L", "RGB", "RGBA") else image.mode).save(out, format="PNG")
    return out.getvalue()


def dataset_version_evaluation_split(*, version: DatasetVersion) -> str:
    """The split an evaluation reads: the test split when the version has one, else validation."""
    return Split.TEST if version.test_count else Split.VALIDATION


def dataset_version_compare(*, left: DatasetVersion, right: DatasetVersion, sample: int = 20) -> dict:
    """Two versions of one dataset side by side: their counts, and which items only one of them holds
    (a few of each, with their previews)."""
    if left.dataset_id != right.dataset_id:
        raise ApplicationError(
            gettext("Only versions of the same dataset can be compared."),
            fields={"right": [gettext("Another dataset's version.")]},
        )
    left_items = VersionItem.objects.filter(version=left).values("item_id")
    right_items = VersionItem.objects.filter(version=right).values("item_id")
    only_left = VersionItem.objects.filter(version=left).exclude(item_id__in=right_items)
    only_right = VersionItem.objects.filter(version=right).exclude(item_id__in=left_items)

    def described(version: DatasetVersion) -> dict:
        return {
            "id": str(version.pk),
            "number": version.number,
            "step": version.step,
            "item_count": version.item_count,
            "train_count": version.train_count,
            "validation_count": version.validation_count,
            "test_count": version.test_count,
            "augmented_count": version.augmented_count,
            "pii_scanned": version.pii_scanned,
            "label_counts": version.label_counts,
        }

    def listed(entries) -> list[dict]:
        return [
            {"item": row["item_id"], "preview": row["item__preview"][:200], "split": row["split"]}
            for row in entries.order_by("item_id").values("item_id", "item__preview", "split")[:sample]
        ]

    return {
        "left": described(left),
        "right": described(right),
        "only_left_count": only_left.count(),
        "only_right_count": only_right.count(),
        "only_left": listed(only_left),
        "only_right": listed(only_right),
    }
