"""Preparation through the REST API and a real worker: preview, run, report, compare; cancel between
chunks; bad input as JSON 400s; the Prepare tab; the OpenAPI schema."""

import io
import json

import pytest
from django.test import Client

from infrastructure.storage.services import file_store
from tests.processes import wait_for
from tools_layer.datasets import services
from tools_layer.datasets.models import DatasetVersion

TERMINAL = {"succeeded", "failed", "cancelled"}


def finished(client, job_id, timeout=120):
    return wait_for(
        lambda: (job := client.get(f"/api/v1/jobs/{job_id}/").json())["status"] in TERMINAL and job,
        timeout=timeout,
        what="the job",
    )


def frozen(owner, lines, name="crm"):
    dataset = services.dataset_create(owner=owner, name=name, kind="text")
    file = file_store(
        owner=owner, stream=io.BytesIO("\n".join(json.dumps(line) for line in lines).encode()), filename="d.jsonl"
    )
    services.dataset_import_file(dataset=dataset, file=file, options={"label_field": "label"}, owner=owner)
    return dataset, services.dataset_version_create(dataset=dataset, user=owner, validation_fraction=0.0)


@pytest.mark.django_db(transaction=True)
def test_preview_run_report_and_compare_through_a_worker(operator, client_for, worker):
    client = client_for(operator)
    lines = [
        {"text": f"Customer {n} wrote from user{n}@example.com about order {n}.", "label": "mail"} for n in range(12)
    ]
    lines += [{"text": f"Plain note number {n} about the weather in spring.", "label": "note"} for n in range(12)]
    dataset, version = frozen(operator, lines)
    base = f"/api/v1/datasets/{dataset.pk}/versions/{version.pk}"

    preview = client.post(f"{base}/preview/", {"step": "pii", "params": {"action": "redact"}}, format="json")
    assert preview.status_code == 202, preview.json()
    job = finished(client, preview.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    pairs = job["result"]["pairs"]
    assert len(pairs) == 10 and pairs[0]["after"] == "Customer 0 wrote from <EMAIL> about order 0."
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1  # a preview writes nothing

    steps = [
        {"step": "pii"},
        {"step": "augment", "params": {"method": "eda", "seed": 3, "max_items": 6}},
        {"step": "split", "params": {"validation_fraction": 0.25, "test_fraction": 0.25, "seed": 1}},
    ]
    response = client.post(f"{base}/prepare/", {"steps": steps}, format="json")
    assert response.status_code == 202, response.json()
    job = finished(client, response.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert len(job["result"]["versions"]) == 3
    last = client.get(f"/api/v1/datasets/{dataset.pk}/versions/{job['result']['version']}/").json()
    assert last["step"] == "split" and last["pii_scanned"] and last["test_count"] > 0 and last["augmented_count"] > 0
    scanned = client.get(f"/api/v1/datasets/{dataset.pk}/versions/{job['result']['versions'][0]}/").json()
    assert scanned["parent"] == str(version.pk) and scanned["report"]["found"]["email"] == 12
    assert scanned["report"]["rules"]["redacted"]["count"] == 12

    compared = client.get(f"{base}/compare/?right={last['id']}").json()
    assert compared["only_left_count"] == 12  # the originals with addresses
    assert compared["only_right_count"] == 12 + last["augmented_count"]

    browser = Client()
    browser.force_login(operator)
    page = browser.get(f"/datasets/{dataset.pk}/prepare/")
    assert (
        page.status_code == 200
        and b"prepare.js" in page.content
        and b'data-testid="pii-scanned">yes' in page.content.replace(b"\n", b"")
    )


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_run_stops_between_chunks_and_writes_no_version(operator, client_for, worker):
    client = client_for(operator)
    lines = [
        {"text": f"Line {n}: the quick brown fox {n % 97} jumps over the lazy dog number {n}."} for n in range(20_000)
    ]
    dataset, version = frozen(operator, lines, name="big")
    steps = [
        {
            "step": "clean",
            "params": {"near_duplicates": {"threshold": 0.9}, "quality": {"max_repeated_ngram_share": 0.5}},
        }
    ]
    job_id = client.post(
        f"/api/v1/datasets/{dataset.pk}/versions/{version.pk}/prepare/", {"steps": steps}, format="json"
    ).json()["id"]
    wait_for(
        lambda: client.get(f"/api/v1/jobs/{job_id}/").json()["progress"] > 0.25, timeout=120, what="the job to clean"
    )
    assert client.post(f"/api/v1/jobs/{job_id}/cancel/").status_code in (200, 202)
    job = finished(client, job_id, timeout=30)
    assert job["status"] == "cancelled"
    assert not DatasetVersion.objects.filter(job_id=job_id).exists()


@pytest.mark.django_db
def test_bad_steps_are_400s_that_name_the_field(operator, client_for):
    client = client_for(operator)
    dataset, version = frozen(operator, [{"text": "one line"}])
    base = f"/api/v1/datasets/{dataset.pk}/versions/{version.pk}"
    unknown = client.post(f"{base}/prepare/", {"steps": [{"step": "shuffle"}]}, format="json")
    assert unknown.status_code == 400 and "steps" in unknown.json()["error"]["fields"]
    bad = client.post(f"{base}/prepare/", {"steps": [{"step": "split", "params": {"test_fraction": 2}}]}, format="json")
    assert bad.status_code == 400
    no_generator = client.post(
        f"{base}/prepare/", {"steps": [{"step": "augment", "params": {"method": "back_translation"}}]}, format="json"
    )
    assert no_generator.status_code == 400 and no_generator.json()["error"]["code"] == "no_multilingual_generator"
    other = services.dataset_create(owner=operator, name="other", kind="text")
    assert (
        client.post(
            f"/api/v1/datasets/{other.pk}/versions/{version.pk}/prepare/", {"steps": [{"step": "pii"}]}, format="json"
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_licence_fields_through_the_api_and_the_schema(operator, client_for):
    client = client_for(operator)
    created = client.post(
        "/api/v1/datasets/",
        {
            "name": "scraped",
            "kind": "text",
            "source": "https://example.com",
            "licence": "CC-BY-ND-4.0",
            "has_personal_data": True,
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["licence"] == "CC-BY-ND-4.0"
    patched = client.patch(f"/api/v1/datasets/{created.json()['id']}/", {"licence": "custom"}, format="json")
    assert patched.status_code == 400 and "licence_text" in patched.json()["error"]["fields"]
    schema = client.get("/api/schema/?format=json").json()
    for path in ("prepare", "preview", "compare"):
        assert f"/api/v1/datasets/{{id}}/versions/{{version_pk}}/{path}/" in schema["paths"]
