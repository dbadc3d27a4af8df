"""Writes for datasets: create, import (a Job), append items, freeze versions, prepare versions (a Job
per run of steps: cleaning, PII, augmentation, splits), the licence check training makes, delete."""

import hashlib
import io
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext
from PIL import Image

from aigc_platform.accounts.roles import ADMIN, user_has_role
from aigc_platform.audit.services import audit_record
from aigc_platform.core.errors import ApplicationError, Conflict, PermissionDenied
from infrastructure.compute.models import Job
from infrastructure.compute.services import job_submit
from infrastructure.storage.models import File
from infrastructure.storage.selectors import file_get, file_local_path, file_open
from infrastructure.storage.services import file_delete, file_store
from tools_layer.datasets import pii, prepare
from tools_layer.datasets.ingest import ItemWriter
from tools_layer.datasets.models import Dataset, DatasetItem, DatasetKind, DatasetVersion, Split, VersionItem
from tools_layer.datasets.parsers import RawItem, TextFields, read_csv, read_jsonl, read_zip
from tools_layer.datasets.selectors import dataset_version_items, image_thumbnail

IMPORT_JOB_KIND = "dataset-import"
PREPARE_JOB_KIND = "dataset-prepare"
PREVIEW_JOB_KIND = "dataset-prepare-preview"
# How many of a version's first items a preview reads to find its pairs.
PREVIEW_READ_ITEMS = 500
LICENCE_OVERRIDE_ACTION = "dataset.licence_override"
FORMATS_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".zip": "zip"}
FORMATS_BY_KIND = {
    DatasetKind.TEXT: {"jsonl", "csv"},
    DatasetKind.PREFERENCE: {"jsonl", "csv"},
    DatasetKind.IMAGE: {"zip"},
}
DEFAULT_MAX_CHARS = 20_000
# Progress is written at most this often: each write is a database update and a live event.
PROGRESS_INTERVAL_SECONDS = 0.5
# Reading and cleaning is this share of an import's progress; saving the rows is the rest.
READ_SHARE = 0.9
MANIFEST_BATCH = 5000
LICENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]{0,99}")
# Licences that forbid derivative works (a trained model is one): Creative Commons' NoDerivatives
# variants by SPDX id, and custom terms that say no training in so many words.
NO_DERIVATIVES = re.compile(r"(^|-)ND(-|$)", re.IGNORECASE)
NO_TRAINING = re.compile(
    r"\b(no|not|never|without)\b[^.]{0,40}\b(train|training|machine learning|AI)\b|禁止.{0,10}训练|不得.{0,10}训练",
    re.IGNORECASE,
)

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


def _licence_fields(licence: str, licence_text: str) -> dict:
    licence = licence.strip()
    if licence.lower() == "custom" and not licence_text.strip():
        raise ApplicationError(
            gettext("A custom licence needs its text."), fields={"licence_text": [gettext("Give the licence's terms.")]}
        )
    if licence and licence.lower() != "custom" and not LICENCE_ID.fullmatch(licence):
        raise ApplicationError(
            gettext("%(licence)r is not an SPDX identifier.") % {"licence": licence},
            fields={"licence": [gettext('An SPDX identifier such as CC-BY-4.0, or "custom" with licence_text.')]},
        )
    return {"licence": "custom" if licence.lower() == "custom" else licence, "licence_text": licence_text.strip()}


@transaction.atomic
def dataset_create(
    *,
    owner,
    name: str,
    kind: str,
    description: str = "",
    source: str = "",
    licence: str = "",
    licence_text: str = "",
    has_personal_data: bool = False,
) -> Dataset:
    if kind not in DatasetKind.values:
        raise ApplicationError(
            gettext("Unknown dataset kind %(kind)r.") % {"kind": kind},
            fields={"kind": [gettext("One of %(names)s.") % {"names": ", ".join(DatasetKind.values)}]},
        )
    provenance = {
        "source": source.strip(),
        "has_personal_data": has_personal_data,
        **_licence_fields(licence, licence_text),
    }
    try:
        with transaction.atomic():
            return Dataset.objects.create(
                owner=owner, name=name.strip(), kind=kind, description=description, **provenance
            )
    except IntegrityError:
        raise Conflict(
            gettext("You already have a dataset named %(name)r.") % {"name": name},
            fields={"name": [gettext("Already used.")]},
        ) from None


@transaction.atomic
def dataset_update(
    *,
    dataset: Dataset,
    name: str | None = None,
    description: str | None = None,
    source: str | None = None,
    licence: str | None = None,
    licence_text: str | None = None,
    has_personal_data: bool | None = None,
) -> Dataset:
    if name is not None:
        dataset.name = name.strip()
    if description is not None:
        dataset.description = description
    if source is not None:
        dataset.source = source.strip()
    if licence is not None or licence_text is not None:
        fields = _licence_fields(
            dataset.licence if licence is None else licence,
            dataset.licence_text if licence_text is None else licence_text,
        )
        dataset.licence, dataset.licence_text = fields["licence"], fields["licence_text"]
    if has_personal_data is not None:
        dataset.has_personal_data = has_personal_data
    try:
        with transaction.atomic():
            dataset.save(
                update_fields=[
                    "name",
                    "description",
                    "source",
                    "licence",
                    "licence_text",
                    "has_personal_data",
                    "updated_at",
                ]
            )
    except IntegrityError:
        raise Conflict(
            gettext("You already have a dataset named %(name)r.") % {"name": name},
            fields={"name": [gettext("Already used.")]},
        ) from None
    return dataset


def dataset_delete(*, dataset: Dataset, actor=None, request=None) -> None:
    """The dataset, its items and versions, and the objects only they used. A deletion a person asked
    for (`actor`) is recorded in the audit log."""
    owner = dataset.owner
    with transaction.atomic():
        if actor is not None:
            audit_record(
                action="dataset_deleted",
                actor=actor,
                target=dataset,
                request=request,
                detail={"name": dataset.name, "owner": owner.get_username()},
            )
        blob_ids = set(DatasetItem.objects.filter(dataset=dataset).values_list("blob_id", flat=True))
        blob_ids.update(DatasetVersion.objects.filter(dataset=dataset).values_list("manifest_id", flat=True))
        dataset.delete()
        still_used = set(DatasetItem.objects.filter(blob_id__in=blob_ids).values_list("blob_id", flat=True))
        for blob_id in blob_ids - still_used:
            file_delete(file=file_get(user=owner, pk=blob_id))


def import_format(*, dataset: Dataset, filename: str, requested: str | None) -> str:
    fmt = requested or FORMATS_BY_SUFFIX.get(Path(filename).suffix.lower())
    if fmt is None:
        raise ApplicationError(
            gettext("Cannot tell the format of %(filename)r; say format=jsonl, csv or zip.") % {"filename": filename},
            fields={"format": [gettext("Required for this file name.")]},
        )
    if fmt not in FORMATS_BY_KIND[dataset.kind]:
        allowed = " or ".join(sorted(FORMATS_BY_KIND[dataset.kind]))
        raise ApplicationError(
            gettext("A %(kind)s dataset imports %(allowed)s, not %(fmt)s.")
            % {"kind": dataset.kind, "allowed": allowed, "fmt": fmt},
            fields={"format": [gettext("Use %(allowed)s.") % {"allowed": allowed}]},
        )
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


def dataset_import_file(
    *, dataset: Dataset, file: File, options: dict, owner, job_id=None, progress: Progress = _no_progress
) -> dict:
    """Read, check and clean the whole file, then create every item at once. A bad line, column or
    entry raises ImportInputError naming it, and nothing of the file is kept."""
    if job_id is not None and DatasetItem.objects.filter(import_job_id=job_id).exists():
        # A redelivered job whose first run committed: report, do not import twice.
        return {"added": DatasetItem.objects.filter(import_job_id=job_id).count(), "already_imported": True}
    fmt = import_format(dataset=dataset, filename=file.filename, requested=options.get("format"))
    fields = TextFields(
        text=options.get("text_field") or "text",
        label=options.get("label_field") or "",
        prompt=options.get("prompt_field") or "prompt",
        chosen=options.get("chosen_field") or "chosen",
        rejected=options.get("rejected_field") or "rejected",
    )
    max_chars = options.get("max_chars") or DEFAULT_MAX_CHARS
    writer = ItemWriter(dataset=dataset, owner=owner, max_chars=max_chars, job_id=job_id)
    scan = ImportScan(settings.DATASETS_PII_SCAN) if dataset.kind != DatasetKind.IMAGE else None
    report = _throttled(progress)
    try:
        if fmt == "zip":
            raws = read_zip(file_local_path(file=file), labels_from_folders=options.get("labels_from_folders", True))
            _consume(writer, raws, report, scan)
        else:
            with file_open(file=file) as stream:
                if fmt == "jsonl":
                    raws = read_jsonl(stream, size=file.size, kind=dataset.kind, fields=fields)
                else:
                    raws = read_csv(stream, size=file.size, kind=dataset.kind, fields=fields, max_chars=max_chars)
                _consume(writer, raws, report, scan)
        progress(READ_SHARE, f"Saving {len(writer.pending)} items")
        counts = writer.commit()
    except BaseException:
        writer.abort()
        raise
    scanned = {"pii_scan": scan.as_dict()} if scan is not None and scan.mode != "off" else {}
    return {**counts, **scanned, "dataset": str(dataset.pk), "file": str(file.pk), "format": fmt}


class ImportScan:
    """The PII scan an import runs when AIGC_DATASETS_PII_SCAN asks: "redact" stores each text with its
    personal data replaced by its type, "drop" leaves out an item that holds any, "report" only counts."""

    def __init__(self, mode: str):
        self.mode, self.found, self.changed, self.dropped = mode, Counter(), 0, 0

    def apply(self, raw: RawItem) -> RawItem | None:
        if self.mode == "off":
            return raw
        if raw.pair is not None:
            findings = {key: pii.find_pii(value) for key, value in raw.pair.items()}
        else:
            findings = {"text": pii.find_pii(raw.text or "")}
        found = sum((pii.count_kinds(each) for each in findings.values()), Counter())
        if not found:
            return raw
        self.found += found
        if self.mode == "drop":
            self.dropped += 1
            return None
        if self.mode == "redact":
            self.changed += 1
            if raw.pair is not None:
                return replace(raw, pair={key: pii.redact(value, findings[key]) for key, value in raw.pair.items()})
            return replace(raw, text=pii.redact(raw.text or "", findings["text"]))
        return raw

    def as_dict(self) -> dict:
        return {"mode": self.mode, "found": dict(self.found), "redacted": self.changed, "dropped": self.dropped}


def _consume(
    writer: ItemWriter, raws: Iterable[tuple[RawItem | None, float]], report: Progress, scan: ImportScan | None = None
) -> None:
    scanned = scan is not None and scan.mode in ("redact", "drop")
    for raw, fraction in raws:
        if raw is None:
            writer.skip_file()
        elif scan is None:
            writer.add(raw)
        elif (kept := scan.apply(raw)) is not None:
            writer.add(kept, pii_scanned=scanned)
        report(READ_SHARE * fraction, f"Read {writer.counts.read} items")


def dataset_items_append(
    *,
    dataset: Dataset,
    owner,
    texts: Iterable[RawItem] = (),
    copies: Iterable[tuple[DatasetItem, str]] = (),
    job_id=None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> dict:
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


def dataset_version_create(
    *, dataset: Dataset, user, seed: int = 0, validation_fraction: float = 0.1, note: str = ""
) -> DatasetVersion:
    """Freeze the dataset's imported items as they are now: a manifest (item ids, sha256, split) in
    storage and in the database. Later imports never change an existing version."""
    if not 0 <= validation_fraction < 1:
        raise ApplicationError(
            gettext("validation_fraction must be at least 0 and below 1."),
            fields={"validation_fraction": [gettext("Between 0 (inclusive) and 1.")]},
        )
    # Items are never removed one by one, so the rows read here are still there when the version is saved.
    rows = list(
        DatasetItem.objects.filter(dataset=dataset, derived=False)
        .order_by("id")
        .values_list("id", "sha256", "label", "augmented", "pii_scanned")
    )
    if not rows:
        raise ApplicationError(
            gettext("The dataset has no items yet: import some before freezing a version."), code="empty_dataset"
        )
    validation = _split([row[1] for row in rows], seed=seed, validation_fraction=validation_fraction)
    entries = [
        VersionRow(item_id, sha256, label, Split.VALIDATION if index in validation else Split.TRAIN, augmented, scanned)
        for index, (item_id, sha256, label, augmented, scanned) in enumerate(rows)
    ]
    return _version_save(
        dataset=dataset, user=user, entries=entries, note=note, seed=seed, validation_fraction=validation_fraction
    )


@dataclass(frozen=True)
class VersionRow:
    item_id: int
    sha256: str
    label: str
    split: str
    augmented: bool
    pii_scanned: bool


def _version_save(
    *,
    dataset: Dataset,
    user,
    entries: list[VersionRow],
    note: str = "",
    seed: int = 0,
    validation_fraction: float = 0.0,
    test_fraction: float = 0.0,
    stratified: bool = False,
    parent: DatasetVersion | None = None,
    step: str = "",
    parameters: dict | None = None,
    report: dict | None = None,
    job_id=None,
) -> DatasetVersion:
    """Write a version: its manifest in storage, then its row and its items' rows in one transaction."""
    entries = sorted(entries, key=lambda row: row.item_id)
    manifest = io.BytesIO()
    for row in entries:
        manifest.write(
            json.dumps(
                {"item": row.item_id, "sha256": row.sha256, "split": row.split, "augmented": row.augmented}
            ).encode()
            + b"\n"
        )
    manifest_bytes = manifest.getvalue()
    manifest_file = file_store(
        owner=dataset.owner,
        stream=io.BytesIO(manifest_bytes),
        filename=f"{dataset.name}-manifest.jsonl",
        content_type="application/x-ndjson",
    )
    splits = Counter(row.split for row in entries)
    try:
        with transaction.atomic():
            Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
            number = (DatasetVersion.objects.filter(dataset=dataset).aggregate(top=Max("number"))["top"] or 0) + 1
            version = DatasetVersion.objects.create(
                dataset=dataset,
                number=number,
                note=note,
                seed=seed,
                validation_fraction=validation_fraction,
                test_fraction=test_fraction,
                stratified=stratified,
                item_count=len(entries),
                train_count=splits[Split.TRAIN],
                validation_count=splits[Split.VALIDATION],
                test_count=splits[Split.TEST],
                augmented_count=sum(row.augmented for row in entries),
                pii_scanned=bool(entries) and all(row.pii_scanned for row in entries),
                label_counts=dict(Counter(row.label for row in entries).most_common()),
                manifest=manifest_file,
                manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
                created_by=user,
                parent=parent,
                step=step,
                parameters=parameters or {},
                report=report or {},
                job_id=job_id,
            )
            VersionItem.objects.bulk_create(
                (VersionItem(version=version, item_id=row.item_id, split=row.split) for row in entries),
                batch_size=MANIFEST_BATCH,
            )
    except BaseException:
        file_delete(file=manifest_file)
        raise
    return version


# Preparation: each step reads one version and writes the next


class GeneratorContext:
    """What the paraphrase and back-translation augmentations call: a text generator of the model
    layer, asked for JSON with a schema (structured output), so that its answer is parsed, not guessed."""

    def __init__(self, *, user, params: dict, ctx=None):
        from models_layer.registry.selectors import generator_get, generator_production_version

        method = params.get("method")
        slug = params.get("generator") or ""
        if method == "back_translation":
            multilingual = list(settings.DATASETS_MULTILINGUAL_GENERATORS)
            if not multilingual:
                raise ApplicationError(
                    gettext(
                        "Back-translation needs a multilingual generator, and none is registered as one: an admin names "
                        "them in AIGC_DATASETS_MULTILINGUAL_GENERATORS (the built-in SmolLM2-135M writes English only)."
                    ),
                    code="no_multilingual_generator",
                    fields={"generator": [gettext("No multilingual generator is registered.")]},
                )
            slug = slug or multilingual[0]
            if slug not in multilingual:
                raise ApplicationError(
                    gettext("%(slug)s is not registered as multilingual; use one of %(names)s.")
                    % {"slug": slug, "names": ", ".join(multilingual)},
                    code="no_multilingual_generator",
                    fields={"generator": [gettext("Not multilingual.")]},
                )
        if not slug:
            raise ApplicationError(
                gettext("Pick the generator that paraphrases."),
                fields={"generator": [gettext("Required for this method.")]},
            )
        self.version = generator_production_version(generator=generator_get(user=user, slug=slug))
        self.ctx, self.max_new_tokens = ctx, params.get("max_new_tokens", 256)

    def _ask(self, prompt: str, schema: dict) -> dict:
        from models_layer.runtime import generate_text

        result = generate_text(
            version=self.version,
            messages=[{"role": "user", "content": prompt}],
            max_new_tokens=self.max_new_tokens,
            temperature=0.7,
            response_format={"type": "json_schema", "json_schema": {"schema": schema}},
        )
        if self.ctx is not None:
            self.ctx.check_cancelled()
        return result.get("json") or {}

    def paraphrase(self, text: str, *, label: str, count: int) -> list[str]:
        from tools_layer.quality.checks import detect_language

        language = detect_language(text) or "en"
        schema = {
            "type": "object",
            "properties": {
                "paraphrases": {
                    "type": "array",
                    # A paraphrase is about as long as its source: the bound keeps a rambling model
                    # inside the token budget.
                    "items": {"type": "string", "minLength": 1, "maxLength": 2 * len(text) + 40},
                    "minItems": 1,
                    "maxItems": count,
                }
            },
            "required": ["paraphrases"],
        }
        prompt = prepare.PARAPHRASE_PROMPT.format(
            count=count, language_name=prepare.LANGUAGE_NAMES.get(language, language), label=label or "none", text=text
        )
        return [str(value).strip() for value in self._ask(prompt, schema).get("paraphrases", [])[:count]]

    def back_translate(self, text: str, *, pivot: str) -> str:
        from tools_layer.quality.checks import detect_language

        source = detect_language(text) or "en"
        schema = {"type": "object", "properties": {"translation": {"type": "string"}}, "required": ["translation"]}
        there = self._ask(
            prepare.TRANSLATE_PROMPT.format(target=prepare.LANGUAGE_NAMES.get(pivot, pivot), text=text), schema
        )
        back = self._ask(
            prepare.TRANSLATE_PROMPT.format(
                target=prepare.LANGUAGE_NAMES.get(source, source), text=there.get("translation", "")
            ),
            schema,
        )
        return str(back.get("translation", "")).strip()


def _needs_generator(step: dict) -> bool:
    return step["step"] == "augment" and step["params"].get("method") in ("paraphrase", "back_translation")


def dataset_prepare_submit(*, version: DatasetVersion, user, steps: list[dict]) -> Job:
    """Queue a run of preparation steps on a version: each step writes a new version whose parent is the
    one before. Checked here so that a mistake is a 400 now rather than a failed job later."""
    if not steps:
        raise ApplicationError(gettext("Pick at least one step."), fields={"steps": [gettext("Empty.")]})
    for step in steps:
        if step["step"] not in prepare.STEPS:
            raise ApplicationError(
                gettext("Unknown step %(step)r.") % {"step": step["step"]},
                fields={"steps": [gettext("One of %(names)s.") % {"names": ", ".join(prepare.STEPS)}]},
            )
        if step["step"] == "pii" and version.dataset.kind == DatasetKind.IMAGE:
            raise ApplicationError(
                gettext("The PII scan reads text; an image dataset has none to scan."),
                fields={"steps": [gettext("No pii step here.")]},
            )
        if _needs_generator(step):
            GeneratorContext(user=user, params=step["params"])
    return job_submit(owner=user, kind=PREPARE_JOB_KIND, params={"version": str(version.pk), "steps": steps})


def dataset_prepare_preview_submit(*, version: DatasetVersion, user, step: dict) -> Job:
    """Queue a preview: up to 10 before/after pairs of what the step would do, written nowhere."""
    if step["step"] not in ("clean", "pii", "augment"):
        raise ApplicationError(
            gettext("Previews show cleaning, PII and augmentation."),
            fields={"step": [gettext("clean, pii or augment.")]},
        )
    if _needs_generator(step):
        GeneratorContext(user=user, params=step["params"])
    return job_submit(owner=user, kind=PREVIEW_JOB_KIND, params={"version": str(version.pk), "steps": [step]})


def _entries(
    version: DatasetVersion, *, limit: int | None = None, progress: Progress = _no_progress
) -> list[prepare.Entry]:
    entries = []
    for index, example in enumerate(dataset_version_items(version=version)):
        if limit is not None and index >= limit:
            break
        if index % prepare.CHUNK == 0:
            progress(index / max(version.item_count, 1), f"Reading {index} of {version.item_count} items")
        content = (
            example.image
            if example.kind == DatasetKind.IMAGE
            else example.pair
            if example.kind == DatasetKind.PREFERENCE
            else example.text
        )
        entries.append(
            prepare.Entry(
                example.item_id,
                example.sha256,
                example.label,
                example.split,
                example.augmented,
                example.pii_scanned,
                content,
                example.source_item,
            )
        )
    return entries


def _store_new_items(*, dataset: Dataset, new: list[prepare.NewItem], job_id) -> dict[str, int]:
    """Store what a step made as derived items (an item with the same bytes is reused) and return
    their ids by SHA-256."""
    writer = ItemWriter(dataset=dataset, owner=dataset.owner, max_chars=10**9, job_id=job_id)
    try:
        for index, made in enumerate(new):
            meta = {"source_item": made.source_item} if made.source_item is not None else {}
            flags = {"derived": True, "augmented": made.augmented, "pii_scanned": made.pii_scanned}
            if dataset.kind == DatasetKind.IMAGE:
                with Image.open(io.BytesIO(made.content)) as image:
                    width, height = image.size
                raw = RawItem(
                    where=f"made {index}",
                    label=made.label,
                    image=made.content,
                    image_format="PNG",
                    filename=f"augmented-{made.source_item}-{index}.png",
                    width=width,
                    height=height,
                )
            elif dataset.kind == DatasetKind.PREFERENCE:
                raw = RawItem(where=f"made {index}", label=made.label, pair=made.content)
            else:
                raw = RawItem(where=f"made {index}", label=made.label, text=made.content)
            writer.add(raw, meta=meta, **flags)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    wanted = list({prepare.content_sha256(dataset.kind, made.content) for made in new})
    ids: dict[str, int] = {}
    for start in range(0, len(wanted), MANIFEST_BATCH):
        ids.update(
            DatasetItem.objects.filter(dataset=dataset, sha256__in=wanted[start : start + MANIFEST_BATCH])
            .order_by("-derived", "id")
            .values_list("sha256", "id")
        )
    return ids


def _rows(dataset: Dataset, outcome: prepare.Outcome, *, job_id) -> list[VersionRow]:
    new = [entry for entry in outcome.entries if isinstance(entry, prepare.NewItem)]
    ids = _store_new_items(dataset=dataset, new=new, job_id=job_id) if new else {}
    rows: dict[int, VersionRow] = {}
    merged = prepare.Report()
    for entry in outcome.entries:
        if isinstance(entry, prepare.NewItem):
            sha256 = prepare.content_sha256(dataset.kind, entry.content)
            row = VersionRow(ids[sha256], sha256, entry.label, entry.split, entry.augmented, entry.pii_scanned)
        else:
            row = VersionRow(entry.item_id, entry.sha256, entry.label, entry.split, entry.augmented, entry.pii_scanned)
        if row.item_id in rows:
            # Two items that came out the same (two addresses both redacted to "<EMAIL>") are one item
            # now; the first keeps its place, and the report counts the other.
            merged.add(
                "merged_identical",
                {
                    "item": getattr(entry, "source_item", None) or row.item_id,
                    "preview": "",
                    "detail": f"the same content as item {row.item_id}",
                },
            )
            continue
        rows[row.item_id] = row
    if merged.counts:
        outcome.report.setdefault("rules", {}).update(merged.as_dict()["rules"])
        outcome.report["kept"] = len(rows)
    return list(rows.values())


def dataset_prepare_run(
    *, version: DatasetVersion, steps: list[dict], user, job_id=None, ctx=None, progress: Progress = _no_progress
) -> dict:
    """Run the steps one after another, each writing a version; a redelivered job goes on after the
    last version its earlier run wrote. Cancel stops between chunks; versions already written stay."""
    done = list(DatasetVersion.objects.filter(job_id=job_id).order_by("number")) if job_id else []
    parent = done[-1] if done else version
    written = [str(each.pk) for each in done]
    for index, step in enumerate(steps[len(done) :], start=len(done)):
        share, start = 1 / len(steps), index / len(steps)

        def report(fraction: float, message: str, start=start, share=share, name=step["step"]) -> None:
            progress(start + share * min(fraction, 1.0), f"{name}: {message}")

        entries = _entries(parent, progress=lambda f, m: report(0.2 * f, m))
        context = GeneratorContext(user=user, params=step["params"], ctx=ctx) if _needs_generator(step) else None
        outcome = prepare.STEPS[step["step"]](
            entries, step["params"], lambda f, m: report(0.2 + 0.7 * f, m), kind=parent.dataset.kind, context=context
        )
        report(0.9, "Saving the new version")
        rows = _rows(parent.dataset, outcome, job_id=job_id)
        if not rows:
            raise ApplicationError(
                gettext("The %(step)s step left no items: nothing to save.") % {"step": step["step"]},
                code="empty_result",
            )
        if outcome.pii_scanned:
            _mark_scanned(rows)
        splits = outcome.split or {
            "seed": parent.seed,
            "validation_fraction": parent.validation_fraction,
            "test_fraction": parent.test_fraction,
            "stratified": parent.stratified,
        }
        parent = _version_save(
            dataset=parent.dataset,
            user=user,
            entries=rows,
            note=f"{step['step']} of v{parent.number}",
            seed=splits["seed"],
            validation_fraction=splits["validation_fraction"],
            test_fraction=splits["test_fraction"],
            stratified=splits["stratified"],
            parent=parent,
            step=step["step"],
            parameters=step["params"],
            report=outcome.report,
            job_id=job_id,
        )
        written.append(str(parent.pk))
    return {"versions": written, "version": written[-1], "dataset": str(version.dataset_id)}


def _mark_scanned(rows: list[VersionRow]) -> None:
    """The items a PII step kept unchanged were scanned too: their content holds nothing it finds."""
    ids = [row.item_id for row in rows]
    for start in range(0, len(ids), MANIFEST_BATCH):
        DatasetItem.objects.filter(pk__in=ids[start : start + MANIFEST_BATCH], pii_scanned=False).update(
            pii_scanned=True
        )


def dataset_prepare_preview(*, version: DatasetVersion, step: dict, user, ctx=None) -> dict:
    entries = _entries(version, limit=PREVIEW_READ_ITEMS)
    context = GeneratorContext(user=user, params=step["params"], ctx=ctx) if _needs_generator(step) else None
    pairs = prepare.preview_pairs(
        entries, step["params"], kind=version.dataset.kind, context=context, step=step["step"]
    )
    if version.dataset.kind == DatasetKind.IMAGE:
        import base64

        for pair in pairs:
            for side in ("before", "after"):
                if isinstance(pair.get(side), bytes):
                    pair[side] = (
                        "data:image/png;base64," + base64.b64encode(image_thumbnail(pair[side], size=96)).decode()
                    )
    return {"step": step["step"], "read": len(entries), "pairs": pairs}


# Licences


def dataset_licence_forbids_training(*, dataset: Dataset) -> str | None:
    """Why the dataset's licence forbids training on it, or None."""
    if dataset.licence == "custom":
        if NO_TRAINING.search(dataset.licence_text):
            return gettext("its custom licence says it may not be used for training")
        return None
    if NO_DERIVATIVES.search(dataset.licence):
        return gettext("%(licence)s forbids derivative works (NoDerivatives), and a trained model is one") % {
            "licence": dataset.licence
        }
    return None


def dataset_licence_check(*, version: DatasetVersion, user, override: bool = False, request=None) -> None:
    """Refuse to train on a dataset whose licence forbids it, unless an admin overrides (audited)."""
    reason = dataset_licence_forbids_training(dataset=version.dataset)
    if reason is None:
        return
    if not override:
        raise ApplicationError(
            gettext("%(name)s cannot be trained on: %(reason)s. An admin may override.")
            % {"name": version.dataset.name, "reason": reason},
            code="licence_forbids_training",
            fields={"dataset_version": [reason]},
        )
    if not user_has_role(user, ADMIN):
        raise PermissionDenied(gettext("Only an admin may override a dataset's licence."))
    audit_record(
        action=LICENCE_OVERRIDE_ACTION,
        actor=user,
        target=version.dataset,
        request=request,
        detail={"dataset_version": str(version.pk), "licence": version.dataset.licence, "reason": reason},
    )
