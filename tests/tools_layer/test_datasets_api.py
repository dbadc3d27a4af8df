"""The datasets REST API end to end: an import through a real worker, search and paging, versions;
the upload size limit; roles and ownership."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from infrastructure.storage.backends import get_backend
from infrastructure.storage.models import File
from tests.infrastructure.storage_helpers import staged_files
from tests.processes import wait_for

TERMINAL = {"succeeded", "failed", "cancelled"}


def finished(client, job_id):
    return wait_for(
        lambda: (job := client.get(f"/api/v1/jobs/{job_id}/").json())["status"] in TERMINAL and job,
        timeout=60,
        what="the import job",
    )


@pytest.mark.django_db(transaction=True)
def test_import_through_a_worker_then_search_page_and_freeze(operator, client_for, worker):
    client = client_for(operator)
    dataset = client.post("/api/v1/datasets/", {"name": "prose", "kind": "text"}, format="json").json()
    lines = [
        {"body": f"sentence {n} about {'cats' if n % 3 == 0 else 'dogs'}", "tag": "c" if n % 3 == 0 else "d"}
        for n in range(30)
    ]
    lines += [{"body": "sentence 0 about cats", "tag": "c"}, {"body": ""}]
    upload = SimpleUploadedFile("lines.jsonl", "\n".join(json.dumps(line) for line in lines).encode())
    response = client.post(
        f"/api/v1/datasets/{dataset['id']}/import/",
        {"file": upload, "text_field": "body", "label_field": "tag"},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    job = finished(client, response.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert {k: job["result"][k] for k in ("added", "duplicates", "empty")} == {"added": 30, "duplicates": 1, "empty": 1}

    page = client.get(f"/api/v1/datasets/{dataset['id']}/items/?search=CATS&page_size=4").json()
    assert page["count"] == 10 and len(page["results"]) == 4 and page["next"]
    item = page["results"][0]
    assert client.get(item["content_url"]).content == item["preview"].encode()
    detail = client.get(f"/api/v1/datasets/{dataset['id']}/").json()
    assert detail["item_count"] == 30 and {row["label"]: row["count"] for row in detail["label_counts"]} == {
        "c": 10,
        "d": 20,
    }

    version = client.post(
        f"/api/v1/datasets/{dataset['id']}/versions/", {"seed": 3, "validation_fraction": 0.2}, format="json"
    )
    assert version.status_code == 201 and version.json()["train_count"] == 24
    assert client.get(f"/api/v1/datasets/{dataset['id']}/versions/").json()["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_import_job_names_the_line(operator, client_for, worker):
    client = client_for(operator)
    dataset = client.post("/api/v1/datasets/", {"name": "bad", "kind": "text"}, format="json").json()
    upload = SimpleUploadedFile("bad.jsonl", b'{"text": "ok"}\n{"text": oops}\n')
    job = finished(
        client,
        client.post(f"/api/v1/datasets/{dataset['id']}/import/", {"file": upload}, format="multipart").json()["id"],
    )
    assert job["status"] == "failed" and "Line 2 is not valid JSON" in job["error"]
    assert client.get(f"/api/v1/datasets/{dataset['id']}/items/").json()["count"] == 0


@pytest.mark.django_db
def test_an_upload_over_the_limit_is_413_and_nothing_is_stored(operator, client_for, settings):
    settings.DATASET_UPLOAD_MAX_BYTES = 100
    client = client_for(operator)
    dataset = client.post("/api/v1/datasets/", {"name": "big", "kind": "text"}, format="json").json()
    upload = SimpleUploadedFile("big.jsonl", b'{"text": "x"}\n' * 20)
    response = client.post(f"/api/v1/datasets/{dataset['id']}/import/", {"file": upload}, format="multipart")
    assert response.status_code == 413 and "at most 100 bytes" in response.json()["error"]["message"]
    assert not File.objects.filter(owner=operator).exists()
    assert staged_files(get_backend()) == []


@pytest.mark.django_db
def test_an_upload_of_an_unknown_format_is_400_and_nothing_is_stored(operator, client_for):
    client = client_for(operator)
    dataset = client.post("/api/v1/datasets/", {"name": "odd", "kind": "text"}, format="json").json()
    upload = SimpleUploadedFile("notes.docx", b"PK\x03\x04 not a dataset")
    response = client.post(f"/api/v1/datasets/{dataset['id']}/import/", {"file": upload}, format="multipart")
    assert (
        response.status_code == 400 and "Cannot tell the format of 'notes.docx'" in response.json()["error"]["message"]
    )
    assert not File.objects.filter(owner=operator).exists()
    assert staged_files(get_backend()) == []


@pytest.mark.django_db
def test_creators_cannot_manage_datasets_and_others_datasets_are_404(operator, creator, make_user, client_for):
    assert client_for(creator).get("/api/v1/datasets/").status_code == 403
    dataset = client_for(operator).post("/api/v1/datasets/", {"name": "mine", "kind": "image"}, format="json").json()
    assert client_for(make_user("operator")).get(f"/api/v1/datasets/{dataset['id']}/").status_code == 404
    wrong = client_for(operator).post(
        f"/api/v1/datasets/{dataset['id']}/import/", {"file": SimpleUploadedFile("a.jsonl", b"{}")}, format="multipart"
    )
    assert wrong.status_code == 400 and "imports zip, not jsonl" in wrong.json()["error"]["message"]
