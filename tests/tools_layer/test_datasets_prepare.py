"""Preparation steps through the service their job calls: each reads one version and writes a new one
with its lineage and a report that counts what every rule removed or changed."""

import io
import json
import zipfile

import pytest
from PIL import Image

from infrastructure.storage.services import file_store
from tools_layer.datasets import prepare, services
from tools_layer.datasets.models import DatasetItem, DatasetVersion
from tools_layer.datasets.selectors import dataset_version_compare, dataset_version_items

pytestmark = pytest.mark.django_db

PROSE = [
    "The library opens at nine and closes at six on weekdays.",
    "Our new kettle boils water in under two minutes and switches itself off.",
    "Fresh bread is baked every morning in the small shop on the corner.",
    "The museum shows paintings from the seventeenth century in its east wing.",
    "Cyclists should keep to the right and signal before they turn.",
    "This jacket keeps you warm and dry on long winter walks in the hills.",
]


def import_lines(dataset, rows):
    lines = [json.dumps(row if isinstance(row, dict) else {"text": row}, ensure_ascii=False) for row in rows]
    file = file_store(owner=dataset.owner, stream=io.BytesIO("\n".join(lines).encode()), filename="d.jsonl")
    return services.dataset_import_file(
        dataset=dataset, file=file, options={"label_field": "label"}, owner=dataset.owner
    )


def texts(version, split=None):
    return sorted(example.text for example in dataset_version_items(version=version, split=split))


def step(name, **params):
    from tools_layer.datasets.serializers import PrepareStepSerializer

    serializer = PrepareStepSerializer(data={"step": name, "params": params})
    assert serializer.is_valid(), serializer.errors
    return json.loads(json.dumps(serializer.validated_data))


def run(version, *steps, user):
    result = services.dataset_prepare_run(version=version, steps=list(steps), user=user)
    return [DatasetVersion.objects.get(pk=pk) for pk in result["versions"]]


@pytest.fixture
def prose(operator):
    dataset = services.dataset_create(owner=operator, name="prose", kind="text")
    import_lines(
        dataset,
        [
            *PROSE,
            # A near-duplicate of the first line (one word changed), and a Chinese line.
            "The library opens at nine and closes at six on weekdays!!",
            "The library opens at nine and closes at six on weekdays, every week.",
            "图书馆每天早上九点开门，晚上六点关门，周末休息。",
            "short",
            "As an AI language model, I cannot write about the weather in the hills today.",
            "buy buy buy now now now buy buy buy now now now buy buy buy now now now",
            "This is total shit and nobody should ever read it again, honestly.",
        ],
    )
    return dataset


def test_cleaning_counts_every_rule_and_records_lineage(prose, operator):
    # Given a version with a near-duplicate, a short line, a Chinese line, task talk, repetition and a blocked term,
    parent = services.dataset_version_create(dataset=prose, user=operator, validation_fraction=0.0)
    params = {
        "near_duplicates": {"threshold": 0.7},
        "length": {"min": 20, "unit": "chars"},
        "languages": ["en"],
        "quality": {"max_repeated_ngram_share": 0.3, "task_talk": True},
        "blocked_terms": True,
    }
    # when it is cleaned,
    [cleaned] = run(parent, step("clean", **params), user=operator)
    # then each rule removed exactly its items, counted, with examples, and the rest is kept.
    rules = cleaned.report["rules"]
    assert {rule: rules[rule]["count"] for rule in sorted(rules)} == {
        "length": 1,
        "language": 1,
        "quality": 2,
        "blocked_terms": 1,
        "near_duplicates": 2,
    }
    assert rules["length"]["examples"][0]["preview"] == "short"
    assert "near-duplicate of item" in rules["near_duplicates"]["examples"][0]["detail"]
    assert cleaned.report["read"] == 13 and cleaned.report["kept"] == 6 == cleaned.item_count
    assert texts(cleaned) == sorted(PROSE)
    assert (cleaned.parent_id, cleaned.step, cleaned.number) == (parent.pk, "clean", 2)
    assert cleaned.parameters["near_duplicates"]["threshold"] == 0.7
    # The parent is unchanged.
    assert DatasetVersion.objects.get(pk=parent.pk).item_count == 13


def test_length_in_tokens_counts_han_characters_one_by_one(prose, operator):
    parent = services.dataset_version_create(dataset=prose, user=operator, validation_fraction=0.0)
    [kept] = run(parent, step("clean", length={"min": 5, "max": 12, "unit": "tokens"}), user=operator)
    assert "short" not in texts(kept) and PROSE[1] not in texts(kept)  # 1 token; 14 tokens
    assert kept.report["rules"]["length"]["count"] == 13 - kept.item_count


def test_pii_redaction_writes_new_items_and_marks_the_version_scanned(operator):
    dataset = services.dataset_create(owner=operator, name="crm", kind="text")
    import_lines(
        dataset,
        [
            {"text": "Mail li.wei@example.com or call +86 138 0013 8000.", "label": "contact"},
            {"text": "身份证号11010519491231002X已登记。", "label": "id"},
            {"text": "Nothing personal here at all.", "label": "plain"},
        ],
    )
    parent = services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0.0)
    assert parent.pii_scanned is False
    [scanned] = run(parent, step("pii"), user=operator)
    assert texts(scanned) == sorted(
        ["Mail <EMAIL> or call <PHONE>.", "身份证号<ID_NUMBER>已登记。", "Nothing personal here at all."]
    )
    assert scanned.pii_scanned and scanned.report["found"]["email"] == 1 and scanned.report["found"]["id_number"] == 1
    assert scanned.report["rules"]["redacted"]["count"] == 2
    assert scanned.label_counts == {"contact": 1, "id": 1, "plain": 1}
    # The redacted copies are the step's own items, not imported ones; the parent still holds the originals.
    assert DatasetItem.objects.filter(dataset=dataset, derived=True).count() == 2
    assert services.dataset_version_create(dataset=dataset, user=operator).item_count == 3
    assert "li.wei@example.com" in " ".join(texts(parent))

    [dropped] = run(parent, step("pii", action="drop", kinds=["email"]), user=operator)
    assert dropped.item_count == 2 and dropped.report["rules"]["dropped"]["count"] == 1


def test_eda_is_seeded_marks_its_items_and_keeps_them_in_train(prose, operator):
    parent = services.dataset_version_create(dataset=prose, user=operator, seed=1, validation_fraction=0.3)
    params = {"method": "eda", "seed": 5, "operations": ["swap"], "rate": 0.2}
    [first] = run(parent, step("augment", **params), user=operator)
    [second] = run(parent, step("augment", **params), user=operator)
    assert first.augmented_count == parent.train_count == second.augmented_count
    assert texts(first) == texts(second)  # the same seed makes the same edits
    augmented = [e for e in dataset_version_items(version=first) if e.augmented]
    assert augmented and {e.split for e in augmented} == {"train"}
    assert first.validation_count == parent.validation_count
    originals = {e.item_id: e.text for e in dataset_version_items(version=parent)}
    for example in augmented:
        source = originals[example.source_item]
        # Words swapped: the same characters in another order.
        assert example.text != source and sorted(example.text.replace(" ", "")) == sorted(source.replace(" ", ""))


def test_split_is_seeded_stratified_and_leaves_augmented_items_in_train(operator):
    dataset = services.dataset_create(owner=operator, name="labelled", kind="text")
    import_lines(
        dataset, [{"text": f"sentence number {n} of the set", "label": "a" if n % 4 else "b"} for n in range(80)]
    )
    parent = services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0.0)
    [augmented] = run(parent, step("augment", method="eda", seed=1, max_items=10), user=operator)
    [split] = run(augmented, step("split", validation_fraction=0.2, test_fraction=0.1, seed=3), user=operator)
    [again] = run(augmented, step("split", validation_fraction=0.2, test_fraction=0.1, seed=3), user=operator)
    assert split.manifest_sha256 == again.manifest_sha256
    examples = list(dataset_version_items(version=split))
    pinned = {e.item_id for e in examples if e.augmented} | {e.source_item for e in examples if e.augmented}
    assert all(e.split == "train" for e in examples if e.item_id in pinned)
    # Stratified: each label's free items split 20/10/70 on their own.
    free = [e for e in examples if e.item_id not in pinned]
    for label in ("a", "b"):
        mine = [e for e in free if e.label == label]
        assert sum(e.split == "validation" for e in mine) == round(len(mine) * 0.2)
        assert sum(e.split == "test" for e in mine) == round(len(mine) * 0.1)
    assert split.test_count > 0 and split.stratified and split.test_fraction == 0.1
    compared = dataset_version_compare(left=parent, right=split)
    assert compared["only_right_count"] == split.augmented_count and compared["only_left_count"] == 0


def png(color, size=32, stripes=""):
    image = Image.new("RGB", (size, size), color)
    for a in range(0, size, 4) if stripes else ():
        for b in range(size):
            image.putpixel((a, b) if stripes == "vertical" else (b, a), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_image_cleaning_and_augmentation(operator):
    dataset = services.dataset_create(owner=operator, name="pics", kind="image")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("red/a.png", png((200, 0, 0), stripes="vertical"))
        zipped.writestr("red/b.png", png((201, 0, 0), stripes="vertical"))  # the same picture, one shade off
        zipped.writestr("blue/c.png", png((0, 0, 200), stripes="horizontal"))
        zipped.writestr("blue/tiny.png", png((0, 0, 100), size=4))
    file = file_store(owner=operator, stream=io.BytesIO(archive.getvalue()), filename="pics.zip")
    services.dataset_import_file(dataset=dataset, file=file, options={}, owner=operator)
    parent = services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0.0)
    [cleaned] = run(
        parent, step("clean", near_duplicates={"max_distance": 4}, min_width=8, min_height=8), user=operator
    )
    assert {rule: body["count"] for rule, body in cleaned.report["rules"].items()} == {
        "near_duplicates": 1,
        "too_small": 1,
    }
    assert cleaned.item_count == 2

    [augmented] = run(cleaned, step("augment", method="image", seed=2, rotate=20, jitter=0.3), user=operator)
    made = [e for e in dataset_version_items(version=augmented) if e.augmented]
    assert len(made) == 2 and all(Image.open(io.BytesIO(e.image)).size == (32, 32) for e in made)


def test_a_corrupt_image_is_counted_not_kept():
    entries = [
        prepare.Entry(1, "a", "", "train", False, False, b"\x89PNG\r\n\x1a\nbroken"),
        prepare.Entry(2, "b", "", "train", False, False, png((0, 0, 0))),
    ]
    outcome = prepare.clean_images(entries, {}, lambda fraction, message: None)
    assert outcome.report["rules"]["corrupt"]["count"] == 1 and [e.item_id for e in outcome.entries] == [2]


def test_back_translation_without_a_multilingual_generator_is_a_clear_error(prose, operator, settings):
    settings.DATASETS_MULTILINGUAL_GENERATORS = []
    parent = services.dataset_version_create(dataset=prose, user=operator)
    with pytest.raises(Exception, match="needs a multilingual generator"):
        services.dataset_prepare_submit(
            version=parent, user=operator, steps=[step("augment", method="back_translation")]
        )


def test_import_scans_for_pii_when_the_setting_asks(operator, settings):
    settings.DATASETS_PII_SCAN = "redact"
    dataset = services.dataset_create(owner=operator, name="scanned", kind="text")
    result = import_lines(dataset, ["Write to ops@example.org today.", "Nothing here."])
    assert result["pii_scan"] == {"mode": "redact", "found": {"email": 1}, "redacted": 1, "dropped": 0}
    version = services.dataset_version_create(dataset=dataset, user=operator)
    assert version.pii_scanned and texts(version) == ["Nothing here.", "Write to <EMAIL> today."]


@pytest.mark.slow
def test_paraphrase_asks_the_generator_for_json_and_keeps_labels(operator, builtin):
    # Given two labelled train items and the built-in generator,
    dataset = services.dataset_create(owner=operator, name="reviews", kind="text")
    import_lines(
        dataset,
        [
            {"text": "The kettle boils water quickly and switches itself off.", "label": "positive"},
            {"text": "The lid broke after a week and the handle gets hot.", "label": "negative"},
        ],
    )
    parent = services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0.0)
    # when they are paraphrased through it,
    [augmented] = run(
        parent,
        step("augment", method="paraphrase", generator=builtin.generator.slug, per_item=1, max_new_tokens=200),
        user=operator,
    )
    # then each made text is a marked train item under its source's label, and the report counts every try.
    made = [e for e in dataset_version_items(version=augmented) if e.augmented]
    rules = augmented.report["rules"]
    assert rules.get("added", {}).get("count", 0) + rules.get("unchanged", {}).get("count", 0) == 2
    assert len(made) == rules.get("added", {}).get("count", 0)
    sources = {e.item_id: e for e in dataset_version_items(version=parent)}
    for example in made:
        assert example.split == "train" and example.label == sources[example.source_item].label and example.text.strip()
        # The schema bounds a paraphrase near its source's length, so a rambling answer still closes its JSON.
        assert len(example.text) <= 2 * len(sources[example.source_item].text) + 40


def test_items_that_come_out_the_same_are_merged_and_counted(operator):
    dataset = services.dataset_create(owner=operator, name="mails", kind="text")
    import_lines(dataset, ["Write to a@example.com.", "Write to b@example.com.", "Write to c@example.org now."])
    parent = services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0.0)
    [scanned] = run(parent, step("pii"), user=operator)
    assert texts(scanned) == ["Write to <EMAIL> now.", "Write to <EMAIL>."]
    assert scanned.report["rules"]["merged_identical"]["count"] == 1 and scanned.report["kept"] == 2
    assert scanned.report["rules"]["redacted"]["count"] == 3


def test_an_augmented_items_source_stays_in_train_after_redaction(operator):
    # Given items augmented before their PII was redacted,
    dataset = services.dataset_create(owner=operator, name="order", kind="text")
    import_lines(dataset, [f"Customer {n} wrote from user{n}@example.com about the parcel." for n in range(20)])
    parent = services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0.0)
    _, _, split = run(
        parent,
        step("augment", method="eda", seed=1, max_items=5),
        step("pii"),
        step("split", validation_fraction=0.3, test_fraction=0.3, seed=2),
        user=operator,
    )
    # then each augmentation and the redacted copy of its source are in train.
    examples = list(dataset_version_items(version=split))
    sources = {e.source_item for e in examples if e.augmented}
    assert len(sources) == 5
    assert all(e.split == "train" for e in examples if e.augmented or e.source_item in sources)
    assert sum(e.split != "train" for e in examples) == round(15 * 0.3) * 2
