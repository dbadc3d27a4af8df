"""Dataset imports through the service the import job calls: cleaning, and every kind of bad input
failing clearly with nothing half-imported (no item rows, no objects left behind)."""

import io
import json
import zipfile

import pytest
from PIL import Image

from infrastructure.storage.models import File
from infrastructure.storage.services import file_store
from tools_layer.datasets import services
from tools_layer.datasets.models import DatasetItem
from tools_layer.datasets.parsers import ImportInputError
from tools_layer.datasets.selectors import dataset_item_content

pytestmark = pytest.mark.django_db


def stored(owner, name: str, data: bytes):
    return file_store(owner=owner, stream=io.BytesIO(data), filename=name)


def png(color: int = 0, size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("L", (size, size), color).save(out, format="PNG")
    return out.getvalue()


def zipped(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def text_dataset(operator):
    return services.dataset_create(owner=operator, name="prose", kind="text")


@pytest.fixture
def image_dataset(operator):
    return services.dataset_create(owner=operator, name="digits", kind="image")


def run_import(dataset, name: str, data: bytes, **options):
    file = stored(dataset.owner, name, data)
    return services.dataset_import_file(dataset=dataset, file=file, options=options, owner=dataset.owner)


def assert_nothing_imported(dataset, files_before: int):
    assert DatasetItem.objects.filter(dataset=dataset).count() == 0
    # Only the uploads themselves remain: no shard or image object of the failed import.
    assert File.objects.filter(owner=dataset.owner).count() == files_before + 1


def test_jsonl_import_cleans_and_counts(text_dataset):
    lines = [
        {"text": "alpha", "label": "a"},
        {"text": "beta", "label": "b"},
        {"text": "alpha", "label": "a"},
        {"text": "   "},
        {"text": "x" * 50},
        "gamma",
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode() + b"\n\n"
    result = run_import(text_dataset, "lines.jsonl", data, label_field="label", max_chars=20)
    assert {k: result[k] for k in ("read", "added", "duplicates", "empty", "too_long")} == {
        "read": 6,
        "added": 3,
        "duplicates": 1,
        "empty": 1,
        "too_long": 1,
    }
    items = list(DatasetItem.objects.filter(dataset=text_dataset).order_by("id"))
    assert [(i.preview, i.label) for i in items] == [("alpha", "a"), ("beta", "b"), ("gamma", "")]
    assert dataset_item_content(item=items[1]) == {"text": "beta"}
    # A second import of the same lines adds nothing: all are duplicates of stored items.
    again = run_import(text_dataset, "lines.jsonl", data, label_field="label", max_chars=20)
    assert again["added"] == 0 and again["duplicates"] == 4


def test_malformed_jsonl_line_is_named_and_nothing_is_imported(text_dataset):
    files_before = File.objects.filter(owner=text_dataset.owner).count()
    data = b'{"text": "fine"}\n{"text": "also fine"}\n{"text": "broken\n'
    with pytest.raises(ImportInputError, match=r"Line 3 is not valid JSON"):
        run_import(text_dataset, "bad.jsonl", data)
    assert_nothing_imported(text_dataset, files_before)


def test_malformed_line_after_a_full_shard_removes_the_shard(text_dataset):
    # Enough text to fill and store shards before the bad line is reached.
    good = b"".join(json.dumps({"text": f"{n} " + "word " * 300}).encode() + b"\n" for n in range(1500))
    files_before = File.objects.filter(owner=text_dataset.owner).count()
    with pytest.raises(ImportInputError, match="Line 1501"):
        run_import(text_dataset, "big.jsonl", good + b"[1, 2]\n")
    assert_nothing_imported(text_dataset, files_before)


def test_csv_with_chosen_fields_imports_and_without_them_fails(text_dataset):
    data = b'body,category\nhello there,greeting\n"a, quoted\nline",other\n'
    result = run_import(text_dataset, "rows.csv", data, text_field="body", label_field="category")
    assert result["added"] == 2
    assert set(DatasetItem.objects.filter(dataset=text_dataset).values_list("label", flat=True)) == {
        "greeting",
        "other",
    }

    with pytest.raises(ImportInputError, match=r"no column 'text'; its columns are: body, category"):
        run_import(text_dataset, "rows.csv", data)


def test_preference_pairs_are_stored_with_the_chosen_one_first(operator):
    dataset = services.dataset_create(owner=operator, name="prefs", kind="preference")
    data = json.dumps({"prompt": "Say hi", "chosen": "Hello!", "rejected": "Go away."}).encode()
    assert run_import(dataset, "p.jsonl", data)["added"] == 1
    item = DatasetItem.objects.get(dataset=dataset)
    assert item.label == "a"
    assert dataset_item_content(item=item) == {"pair": {"prompt": "Say hi", "a": "Hello!", "b": "Go away."}}


def test_zip_of_images_takes_labels_from_folders_and_skips_other_files(image_dataset):
    data = zipped(
        {
            "cats/1.png": png(10),
            "cats/2.png": png(20),
            "dogs/1.png": png(30),
            "dogs/dup.png": png(30),
            "README.txt": b"hi",
            "__MACOSX/cats/._1.png": b"junk",
        }
    )
    result = run_import(image_dataset, "pets.zip", data)
    assert (result["added"], result["duplicates"], result["skipped_files"]) == (3, 1, 2)
    items = DatasetItem.objects.filter(dataset=image_dataset).order_by("id")
    assert [i.label for i in items] == ["cats", "cats", "dogs"]
    assert items[0].meta == {"filename": "1.png", "width": 8, "height": 8}
    assert dataset_item_content(item=items[0])["image"] == png(10)


@pytest.mark.parametrize(
    "entries, error",
    [
        ({"ok.png": png(), "../evil.png": png()}, "points outside the archive"),
        ({"/etc/evil.png": png()}, "points outside the archive"),
        ({"fake.png": b"GIF89a not really a png at all"}, "claims to be a PNG image but is not"),
        ({"half.jpg": b"\xff\xd8\xff\xe0" + b"\0" * 40}, "claims to be a JPEG image but cannot be read"),
    ],
)
def test_bad_zip_entries_fail_by_name_and_nothing_is_imported(image_dataset, entries, error):
    files_before = File.objects.filter(owner=image_dataset.owner).count()
    with pytest.raises(ImportInputError, match=error):
        run_import(image_dataset, "bad.zip", zipped(entries))
    assert_nothing_imported(image_dataset, files_before)


def test_zip_bomb_guards(image_dataset, settings):
    # A 20 MB entry of zeros packs to ~20 KB: far over the ratio limit.
    with pytest.raises(ImportInputError, match="looks like a ZIP bomb"):
        run_import(image_dataset, "bomb.zip", zipped({"a.png": b"\0" * (20 * 1024 * 1024)}))
    settings.DATASET_ZIP_MAX_ENTRIES = 3
    with pytest.raises(ImportInputError, match="has 4 entries; the limit is 3"):
        run_import(image_dataset, "many.zip", zipped({f"{n}.png": png(n) for n in range(4)}))
    settings.DATASET_ZIP_MAX_ENTRIES = 100
    settings.DATASET_ZIP_MAX_TOTAL_BYTES = 1000
    with pytest.raises(ImportInputError, match="would unpack to .* the limit is 1000"):
        run_import(
            image_dataset, "big.zip", zipped({f"{n}.png": png(n, size=32) for n in range(20)}, zipfile.ZIP_STORED)
        )
    assert DatasetItem.objects.filter(dataset=image_dataset).count() == 0


def test_not_a_zip_and_wrong_format_for_the_kind(image_dataset, text_dataset):
    with pytest.raises(ImportInputError, match="not a ZIP archive"):
        run_import(image_dataset, "x.zip", b"plain text")
    with pytest.raises(Exception, match="A text dataset imports csv or jsonl, not zip"):
        run_import(text_dataset, "x.zip", zipped({"a.png": png()}))
