"""Readers of uploaded files (JSON Lines, CSV, ZIP of images) into raw items, with every check that
makes bad input a clear error naming where it is: the line, the column, the ZIP entry.

A reader yields `(RawItem, fraction_read)` and raises `ImportInputError` at the first bad spot; the
caller stores nothing until the whole file has been read (see `ingest.py`).
"""

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from aigc_platform.core.errors import ApplicationError

LABEL_MAX_CHARS = 200
IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
IMAGE_MAGIC = {"PNG": (b"\x89PNG\r\n\x1a\n",), "JPEG": (b"\xff\xd8\xff",)}
# A small entry may legitimately compress far better than the ratio limit (a blank image); the
# ratio is checked only for entries at least this large, where a bomb would matter.
RATIO_CHECK_MIN_BYTES = 64 * 1024
READ_BUFFER_BYTES = 1024 * 1024


class ImportInputError(ApplicationError):
    code = "invalid_import"


@dataclass
class RawItem:
    where: str
    label: str = ""
    text: str | None = None
    pair: dict[str, str] | None = None
    image: bytes | None = None
    image_format: str = ""
    filename: str = ""
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class TextFields:
    """Which fields hold what: `text` (text datasets) or `prompt`/`chosen`/`rejected` (preference)."""

    text: str = "text"
    label: str = ""
    prompt: str = "prompt"
    chosen: str = "chosen"
    rejected: str = "rejected"


def _label(value: Any, where: str) -> str:
    if value is None:
        return ""
    label = str(value).strip()
    if len(label) > LABEL_MAX_CHARS:
        raise ImportInputError(f"{where}: the label is longer than {LABEL_MAX_CHARS} characters.")
    return label


def _text(value: Any, where: str, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise ImportInputError(f"{where}: field {field!r} holds a JSON {type(value).__name__}, not text.")
    return str(value)


def _record_item(record: dict, *, kind: str, fields: TextFields, where: str) -> RawItem:
    def field(name: str) -> str:
        if name not in record:
            raise ImportInputError(f"{where} has no field {name!r}.", fields={"fields": [f"No field {name!r}."]})
        return _text(record[name], where, name)

    label = _label(record.get(fields.label), where) if fields.label else ""
    if kind == "preference":
        pair = {"prompt": field(fields.prompt), "a": field(fields.chosen), "b": field(fields.rejected)}
        # The chosen response is stored as `a`, so a labelled pair says which one won.
        return RawItem(where=where, pair=pair, label=label or "a")
    return RawItem(where=where, text=field(fields.text), label=label)


def _buffered(stream: BinaryIO) -> BinaryIO:
    return stream if isinstance(stream, io.BufferedIOBase) else io.BufferedReader(stream, READ_BUFFER_BYTES)


def read_jsonl(stream: BinaryIO, *, size: int, kind: str, fields: TextFields) -> Iterator[tuple[RawItem, float]]:
    """One JSON object per line (a bare JSON string is also a text item); blank lines are skipped."""
    consumed = 0
    for number, raw in enumerate(_buffered(stream), start=1):
        consumed += len(raw)
        if not raw.strip():
            continue
        where = f"Line {number}"
        try:
            record = json.loads(raw)
        except UnicodeDecodeError:
            raise ImportInputError(f"{where} is not UTF-8 text.") from None
        except json.JSONDecodeError as error:
            raise ImportInputError(f"{where} is not valid JSON: {error.msg} at column {error.colno}.") from None
        if isinstance(record, str) and kind == "text":
            item = RawItem(where=where, text=record)
        elif isinstance(record, dict):
            item = _record_item(record, kind=kind, fields=fields, where=where)
        else:
            raise ImportInputError(f"{where} is a JSON {type(record).__name__}, not an object.")
        yield item, consumed / max(size, 1)


class _CountingReader(io.RawIOBase):
    """Counts the bytes the CSV reader pulled, for progress."""

    def __init__(self, stream: BinaryIO):
        self.stream, self.count = stream, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def read_csv(
    stream: BinaryIO, *, size: int, kind: str, fields: TextFields, max_chars: int
) -> Iterator[tuple[RawItem, float]]:
    """A header row naming the columns, then one item per row."""
    counter = _CountingReader(stream)
    text = io.TextIOWrapper(io.BufferedReader(counter, READ_BUFFER_BYTES), encoding="utf-8-sig", newline="")
    # Over-long fields are counted and dropped by the cleaner, not failed by the parser.
    csv.field_size_limit(max(csv.field_size_limit(), max_chars * 4 + 1024))
    reader = csv.DictReader(text)
    try:
        header = reader.fieldnames
    except UnicodeDecodeError:
        raise ImportInputError("The CSV file is not UTF-8 text.") from None
    except csv.Error as error:
        raise ImportInputError(f"The CSV header cannot be read: {error}.") from None
    if not header:
        raise ImportInputError("The CSV file is empty: it needs a header row naming its columns.")
    wanted = [fields.prompt, fields.chosen, fields.rejected] if kind == "preference" else [fields.text]
    wanted += [fields.label] if fields.label else []
    for name in wanted:
        if name not in header:
            raise ImportInputError(
                f"The CSV has no column {name!r}; its columns are: {', '.join(header)}.",
                fields={"fields": [f"No column {name!r}."]},
            )
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise ImportInputError(f"CSV line {reader.line_num + 1} is not UTF-8 text.") from None
        except csv.Error as error:
            raise ImportInputError(f"CSV line {reader.line_num}: {error}.") from None
        where = f"CSV line {reader.line_num}"
        if None in row:
            raise ImportInputError(f"{where} has more fields than the header.")
        yield _record_item(row, kind=kind, fields=fields, where=where), counter.count / max(size, 1)


def _unsafe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return name.startswith(("/", "\\")) or "\\" in name or ".." in path.parts or (path.parts and ":" in path.parts[0])


def _check_archive(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Every guard that needs only the central directory, before a single entry is decompressed."""
    entries = [info for info in archive.infolist() if not info.is_dir()]
    for info in archive.infolist():
        if _unsafe_name(info.filename):
            raise ImportInputError(
                f"ZIP entry {info.filename!r} points outside the archive; nothing was imported.", code="unsafe_archive"
            )
    if len(entries) > settings.DATASET_ZIP_MAX_ENTRIES:
        raise ImportInputError(
            f"The ZIP has {len(entries)} entries; the limit is {settings.DATASET_ZIP_MAX_ENTRIES}.",
            code="archive_too_large",
        )
    total = sum(info.file_size for info in entries)
    if total > settings.DATASET_ZIP_MAX_TOTAL_BYTES:
        raise ImportInputError(
            f"The ZIP would unpack to {total} bytes; the limit is {settings.DATASET_ZIP_MAX_TOTAL_BYTES}.",
            code="archive_too_large",
        )
    ratio_limit = settings.DATASET_ZIP_MAX_RATIO
    for info in entries:
        if info.file_size >= RATIO_CHECK_MIN_BYTES and info.file_size > ratio_limit * max(info.compress_size, 1):
            raise ImportInputError(
                f"ZIP entry {info.filename!r} unpacks {info.file_size / max(info.compress_size, 1):.0f} times larger "
                f"than it is packed (the limit is {ratio_limit:.0f}): it looks like a ZIP bomb.",
                code="archive_too_large",
            )
    packed = sum(info.compress_size for info in entries)
    if total >= RATIO_CHECK_MIN_BYTES and total > ratio_limit * max(packed, 1):
        raise ImportInputError(
            f"The ZIP unpacks {total / max(packed, 1):.0f} times larger than it is packed: it looks like a ZIP bomb.",
            code="archive_too_large",
        )
    return entries


def _skipped(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (
        parts[0] == "__MACOSX"
        or any(part.startswith(".") for part in parts)
        or Path(name).suffix.lower() not in IMAGE_SUFFIXES
    )


def check_image(data: bytes, *, claimed: str, where: str) -> tuple[int, int]:
    """The image's size, if the bytes really are the PNG or JPEG the name claims; an error otherwise."""
    if not data.startswith(IMAGE_MAGIC[claimed]):
        raise ImportInputError(f"{where} claims to be a {claimed} image but is not one.", code="not_an_image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if image.format != claimed:
                raise ImportInputError(
                    f"{where} claims to be a {claimed} image but is {image.format}.", code="not_an_image"
                )
            if width * height > settings.DATASET_IMAGE_MAX_PIXELS:
                raise ImportInputError(
                    f"{where} has {width}x{height} pixels; the limit is {settings.DATASET_IMAGE_MAX_PIXELS}.",
                    code="image_too_large",
                )
            image.verify()
    except ImportInputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImportInputError(
            f"{where} claims to be a {claimed} image but cannot be read as one ({error}).", code="not_an_image"
        ) from None
    return width, height


def read_zip(path: Path, *, labels_from_folders: bool) -> Iterator[tuple[RawItem | None, float]]:
    """PNG and JPEG entries; with `labels_from_folders`, an image's label is its folder's name.
    Other files (and macOS metadata) are skipped: they yield None, so the caller can count them."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ImportInputError("The upload is not a ZIP archive.", code="not_an_archive") from None
    with archive:
        entries = _check_archive(archive)
        for index, info in enumerate(entries, start=1):
            fraction = index / len(entries)
            if _skipped(info.filename):
                yield None, fraction
                continue
            where = f"ZIP entry {info.filename!r}"
            if info.file_size > settings.DATASET_IMAGE_MAX_BYTES:
                raise ImportInputError(
                    f"{where} is {info.file_size} bytes; an image may have at most {settings.DATASET_IMAGE_MAX_BYTES}.",
                    code="image_too_large",
                )
            try:
                with archive.open(info) as member:
                    # Never more than the directory declared (checked above), whatever the entry claims.
                    data = member.read(info.file_size + 1)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as error:
                raise ImportInputError(f"{where} cannot be unpacked: {error}.", code="not_an_archive") from None
            if len(data) > info.file_size:
                raise ImportInputError(f"{where} unpacks larger than it declares.", code="archive_too_large")
            claimed = IMAGE_SUFFIXES[Path(info.filename).suffix.lower()]
            width, height = check_image(data, claimed=claimed, where=where)
            parent = PurePosixPath(info.filename).parent.name
            label = _label(parent, where) if labels_from_folders and parent else ""
            yield (
                RawItem(
                    where=where,
                    label=label,
                    image=data,
                    image_format=claimed,
                    filename=PurePosixPath(info.filename).name,
                    width=width,
                    height=height,
                ),
                fraction,
            )
