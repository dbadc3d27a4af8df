"""Versions: frozen manifests with a seeded split, and the selector training reads them with."""

import io
import json

import pytest

from infrastructure.storage.selectors import file_open
from infrastructure.storage.services import file_store
from tools_layer.datasets import services
from tools_layer.datasets.selectors import dataset_version_items

pytestmark = pytest.mark.django_db


def import_lines(dataset, texts, labels=None):
    lines = [json.dumps({"text": t, "label": (labels or {}).get(t, "")}) for t in texts]
    file = file_store(owner=dataset.owner, stream=io.BytesIO("\n".join(lines).encode()), filename="d.jsonl")
    return services.dataset_import_file(
        dataset=dataset, file=file, options={"label_field": "label"}, owner=dataset.owner
    )


def test_version_is_frozen_split_is_seeded_and_items_are_read_back(operator):
    dataset = services.dataset_create(owner=operator, name="d", kind="text")
    texts = [f"sentence number {n}" for n in range(100)]
    import_lines(dataset, texts, labels={t: "even" if i % 2 == 0 else "odd" for i, t in enumerate(texts)})
    v1 = services.dataset_version_create(dataset=dataset, user=operator, seed=7, validation_fraction=0.2)
    assert (v1.number, v1.item_count, v1.train_count, v1.validation_count) == (1, 100, 80, 20)
    assert v1.label_counts == {"even": 50, "odd": 50}

    train = list(dataset_version_items(version=v1, split="train"))
    validation = list(dataset_version_items(version=v1, split="validation"))
    assert len(train) == 80 and len(validation) == 20
    assert {e.text for e in train} | {e.text for e in validation} == set(texts)
    assert all(e.split == "validation" for e in validation)
    assert {e.label for e in train} == {"even", "odd"}

    # Given more items later, version 1 still sees exactly its own data; a new version sees all.
    import_lines(dataset, ["a late addition"])
    assert [e.text for e in dataset_version_items(version=v1)] == [
        e.text for e in sorted(train + validation, key=lambda e: e.item_id)
    ]
    v2 = services.dataset_version_create(dataset=dataset, user=operator, seed=7, validation_fraction=0.2)
    assert (v2.number, v2.item_count) == (2, 101)

    # The same items and seed give the same split; the manifest in storage says the same.
    v3 = services.dataset_version_create(dataset=dataset, user=operator, seed=7, validation_fraction=0.2)
    assert v3.manifest_sha256 == v2.manifest_sha256
    with file_open(file=v1.manifest) as stream:
        manifest = [json.loads(line) for line in stream.read().splitlines()]
    assert {m["item"] for m in manifest if m["split"] == "validation"} == {e.item_id for e in validation}


def test_a_changed_object_is_detected_when_read(operator, settings):
    dataset = services.dataset_create(owner=operator, name="d", kind="text")
    import_lines(dataset, ["one", "two"])
    version = services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0.0)
    dataset.items.filter(preview="two").update(sha256="0" * 64)
    with pytest.raises(Exception, match="does not match its SHA-256"):
        list(dataset_version_items(version=version))


def test_an_empty_dataset_cannot_be_frozen(operator):
    dataset = services.dataset_create(owner=operator, name="d", kind="text")
    with pytest.raises(Exception, match="no items yet"):
        services.dataset_version_create(dataset=dataset, user=operator)
