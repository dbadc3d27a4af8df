"""Writes for datasets: create, import (a Job), append items, freeze versions, delete."""
import hashlib
import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Max

from aigc_platform.audit.services import audit_record
from aigc_platform.core.errors import ApplicationError, Conflict
from infrastructure.compute.models import Job
from infrastructure.compute.services import job_submit
from infrastructure.storage.models import File
from infrastructure.storage.selectors import file_get, file_local_path, file_open
from infrastructure.storage.services import file_delete, file_store
from tools_layer.datasets.ingest import ItemWriter
from tools_layer.datasets.models import Dataset, DatasetItem, DatasetKind, DatasetVersion, Split, VersionItem
from tools_layer.datasets.parsers import RawItem, TextFields, read_csv, read_jsonl, read_zip

IMPORT_JOB_KIND = "dataset-import"
FORMATS_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".zip": "zip"}
FORMATS_BY_KIND = {DatasetKind.TEXT: {"jsonl", "csv"}, DatasetKind.PREFERENCE: {"jsonl", "csv"}, DatasetKind.IMAGE: {"zip"}}
DEFAULT_MAX_CHARS = 20_000
# Progress is written at most this often: each write is a database update and a live event.
PROGRESS_INTERVAL_SECONDS = 0.5
# Reading and cleaning is this share of an import's progress; saving the rows is the rest.
READ_SHARE = 0.9
MANIFEST_BATCH = 5000

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


@transaction.atomic
def dataset_create(*, owner, name: str, kind: str, description: str = "") -> Dataset:
    if kind not in DatasetKind.values:
        raise ApplicationError(f"Unknown dataset kind {kind!r}.", fields={"kind": [f"One of {', '.join(DatasetKind.values)}."]})
    try:
        with transaction.atomic():
            return Dataset.objects.create(owner=owner, name=name.strip(), kind=kind, description=description)
    except IntegrityError:
        raise Conflict(f"You already have a dataset named {name!r}.", fields={"name": ["Already used."]}) from None


@transaction.atomic
def dataset_update(*, dataset: Dataset, name: str | None = None, description: str | None = None) -> Dataset:
    if name is not None:
        dataset.name = name.strip()
    if description is not None:
        dataset.description = description
    try:
        with transaction.atomic():
            dataset.save(update_fields=["name", "description", "updated_at"])
    except IntegrityError:
        raise Conflict(f"You already have a dataset named {name!r}.", fields={"name": ["Already used."]}) from None
    return dataset


def dataset_delete(*, dataset: Dataset, actor=None, request=None) -> None:
    """The dataset, its items and versions, and the objects only they used. A deletion a person asked
    for (`actor`) is recorded in the audit log."""
    owner = dataset.owner
    with transaction.atomic():
        if actor is not None:
            audit_record(action="dataset_deleted", actor=actor, target=dataset, request=request,
                         detail={"name": dataset.name, "owner": owner.get_username()})
        blob_ids = set(DatasetItem.objects.filter(dataset=dataset).values_list("blob_id", flat=True))
        blob_ids.update(DatasetVersion.objects.filter(dataset=dataset).values_list("manifest_id", flat=True))
        dataset.delete()
        still_used = set(DatasetItem.objects.filter(blob_id__in=blob_ids).values_list("blob_id", flat=True))
        for blob_id in blob_ids - still_used:
            file_delete(file=file_get(user=owner, pk=blob_id))


def import_format(*, dataset: Dataset, filename: str, requested: str | None) -> str:
    fmt = requested or FORMATS_BY_SUFFIX.get(Path(filename).suffix.lower())
    if fmt is None:
        raise ApplicationError(f"Cannot tell the format of {filename!r}; say format=jsonl, csv or zip.",
                               fields={"format": ["Required for this file name."]})
    if fmt not in FORMATS_BY_KIND[dataset.kind]:
        allowed = " or ".join(sorted(FORMATS_BY_KIND[dataset.kind]))
        raise ApplicationError(f"A {dataset.kind} dataset imports {allowed}, not {fmt}.", fields={"format": [f"Use {allowed}."]})
    return fmt


def dataset_import_submit(*, dataset: Dataset, user, file: File, options: dict) -> Job:
    """Queue the import of a stored file into the dataset; the Job's result counts what was cleaned."""
    fmt = import_format(dataset=dataset, filename=file.filename, requested=options.get("format"))
    params = {**options, "format": fmt, "dataset": str(dataset.pk), "file": str(file.pk)}
    return job_submit(owner=user, kind=IMPORT_JOB_KIND, params=params)


def _throttled(progress: Progress) -> Progress:
    last = [0.0]

    def report(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_SECONDS:
            last[0] = now
            progress(fraction, message)

    return report


def dataset_import_file(*, dataset: Dataset, file: File, options: dict, owner, job_id=None,
                        progress: Progress = _no_progress) -> dict:
    """Read, check and clean the whole file, then create every item at once. A bad line, column or
    entry raises ImportInputError naming it, and nothing of the file is kept."""
    if job_id is not None and DatasetItem.objects.filter(import_job_id=job_id).exists():
        # A redelivered job whose first run committed: report, do not import twice.
        return {"added": DatasetItem.objects.filter(import_job_id=job_id).count(), "already_imported": True}
    fmt = import_format(dataset=dataset, filename=file.filename, requested=options.get("format"))
    fields = TextFields(
        text=options.get("text_field") or "text", label=options.get("label_field") or "",
        prompt=options.get("prompt_field") or "prompt", chosen=options.get("chosen_field") or "chosen",
        rejected=options.get("rejected_field") or "rejected",
    )
    max_chars = options.get("max_chars") or DEFAULT_MAX_CHARS
    writer = ItemWriter(dataset=dataset, owner=owner, max_chars=max_chars, job_id=job_id)
    report = _throttled(progress)
    try:
        if fmt == "zip":
            raws = read_zip(file_local_path(file=file), labels_from_folders=options.get("labels_from_folders", True))
            _consume(writer, raws, report)
        else:
            with file_open(file=file) as stream:
                if fmt == "jsonl":
                    raws = read_jsonl(stream, size=file.size, kind=dataset.kind, fields=fields)
                else:
                    raws = read_csv(stream, size=file.size, kind=dataset.kind, fields=fields, max_chars=max_chars)
                _consume(writer, raws, report)
        progress(READ_SHARE, f"Saving {len(writer.pending)} items")
        counts = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return {**counts, "dataset": str(dataset.pk), "file": str(file.pk), "format": fmt}


def _consume(writer: ItemWriter, raws: Iterable[tuple[RawItem | None, float]], report: Progress) -> None:
    for raw, fraction in raws:
        if raw is None:
            writer.skip_file()
        else:
            writer.add(raw)
        report(READ_SHARE * fraction, f"Read {writer.counts.read} items")


def dataset_items_append(*, dataset: Dataset, owner, texts: Iterable[RawItem] = (),
                         copies: Iterable[tuple[DatasetItem, str]] = (), job_id=None, max_chars: int = DEFAULT_MAX_CHARS) -> dict:
    """Add items at once (labelled data from elsewhere, such as a labeling export): new texts or
    pairs, and copies of stored items under new labels. Cleaned like an import; all or nothing."""
    writer = ItemWriter(dataset=dataset, owner=owner, max_chars=max_chars, job_id=job_id)
    try:
        for raw in texts:
            writer.add(raw)
        for item, label in copies:
            writer.add_copy(item, label=label)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def _split(sha256s: list[str], *, seed: int, validation_fraction: float) -> set[int]:
    """Indexes of the validation items: a seeded shuffle of the items ordered by content, so the same
    items and seed always give the same split, whatever order they were imported in."""
    order = sorted(range(len(sha256s)), key=sha256s.__getitem__)
    random.Random(seed).shuffle(order)
    count = round(len(order) * validation_fraction)
    if validation_fraction > 0 and len(order) > 1:
        count = min(max(count, 1), len(order) - 1)
    return set(order[:count])


def dataset_version_create(*, dataset: Dataset, user, seed: int = 0, validation_fraction: float = 0.1,
                           note: str = "") -> DatasetVersion:
    """Freeze the dataset's items as they are now: a manifest (item ids, sha256, split) in storage and
    in the database. Later imports never change an existing version."""
    if not 0 <= validation_fraction < 1:
        raise ApplicationError("validation_fraction must be at least 0 and below 1.",
                               fields={"validation_fraction": ["Between 0 (inclusive) and 1."]})
    # Items are never removed one by one, so the rows read here are still there when the version is saved.
    rows = list(DatasetItem.objects.filter(dataset=dataset).order_by("id").values_list("id", "sha256", "label"))
    if not rows:
        raise ApplicationError("The dataset has no items yet: import some before freezing a version.", code="empty_dataset")
    validation = _split([sha for _, sha, _ in rows], seed=seed, validation_fraction=validation_fraction)
    splits = [Split.VALIDATION if index in validation else Split.TRAIN for index in range(len(rows))]
    manifest = io.BytesIO()
    for (item_id, sha256, _), split in zip(rows, splits):
        manifest.write(json.dumps({"item": item_id, "sha256": sha256, "split": split}).encode() + b"\n")
    manifest_bytes = manifest.getvalue()
    manifest_file = file_store(owner=dataset.owner, stream=io.BytesIO(manifest_bytes),
                               filename=f"{dataset.name}-manifest.jsonl", content_type="application/x-ndjson")
    try:
        with transaction.atomic():
            Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
            number = (DatasetVersion.objects.filter(dataset=dataset).aggregate(top=Max("number"))["top"] or 0) + 1
            version = DatasetVersion.objects.create(
                dataset=dataset, number=number, note=note, seed=seed, validation_fraction=validation_fraction,
                item_count=len(rows), validation_count=len(validation), train_count=len(rows) - len(validation),
                label_counts=dict(Counter(label for _, _, label in rows).most_common()), manifest=manifest_file,
                manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(), created_by=user,
            )
            VersionItem.objects.bulk_create(
                (VersionItem(version=version, item_id=item_id, split=split) for (item_id, _, _), split in zip(rows, splits)),
                batch_size=MANIFEST_BATCH,
            )
    except BaseException:
        file_delete(file=manifest_file)
        raise
    return version
