"""Provenance records in this process: who may read one (API and page), idempotent writes, the
request's canonical hash, and a generated PNG's XMP and C2PA manifest read back by other parsers."""

import hashlib
import io
import json
import uuid

import pytest
from PIL import Image
from rest_framework.test import APIClient

from infrastructure.provenance.models import TRAINED_ALGORITHMIC_MEDIA, ArtifactKind, ProvenanceRecord
from infrastructure.provenance.services import png_with_provenance, provenance_record, request_sha256
from tests.infrastructure.provenance_helpers import assert_record_served, assert_xmp_names, png_chunks, png_xmp

pytestmark = pytest.mark.django_db


def _record(owner, **changes) -> ProvenanceRecord:
    fields = {
        "key": "job:test",
        "kind": ArtifactKind.TEXT,
        "artifact_ref": "job:test",
        "owner_id": owner.pk,
        "request": {"prompt": "Hello", "seed": 1},
        "generator_slug": "smollm2-135m-instruct",
        "generator_version": 1,
        "content": "Hi there.",
    }
    return provenance_record(**{**fields, **changes})


def test_only_the_owner_staff_and_operators_read_a_record(creator, other_creator, operator, client_for):
    # Given a record of a creator's text
    record = _record(creator)
    # Then its owner reads it at the API and as a page, and another creator gets 404 at both
    answer = assert_record_served(
        owner=creator, other=other_creator, record_id=str(record.pk), kind="text", generator="smollm2-135m-instruct v1"
    )
    assert (
        answer["digital_source_type"] == TRAINED_ALGORITHMIC_MEDIA and answer["page_url"] == f"/provenance/{record.pk}"
    )
    # and an operator reads it too
    assert client_for(operator).get(f"/api/v1/provenance/{record.pk}/").status_code == 200
    # An unknown id is a JSON 404 like another's; a malformed one is a 404 too
    missing = client_for(creator).get(f"/api/v1/provenance/{uuid.uuid4()}/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client_for(creator).get("/api/v1/provenance/12/").status_code == 404
    # Signed out, the API refuses and the page sends to sign-in
    assert APIClient().get(f"/api/v1/provenance/{record.pk}/").status_code in (401, 403)
    assert APIClient().get(f"/provenance/{record.pk}").status_code == 302


def test_a_producer_that_runs_twice_keeps_one_record(creator):
    first = _record(creator)
    again = _record(creator, content="Hello again.", record_id=uuid.uuid4())
    assert again.pk == first.pk and ProvenanceRecord.objects.count() == 1
    assert ProvenanceRecord.objects.get().content_sha256 != "" and again.content_sha256 != first.content_sha256


def test_the_request_hash_is_over_canonical_json():
    # Key order and spacing do not change it; any value does
    assert request_sha256({"b": 1, "a": "é"}) == request_sha256(json.loads('{ "a" : "é", "b" : 1 }'))
    assert request_sha256({"a": "é", "b": 1}) != request_sha256({"a": "é", "b": 2})
    assert request_sha256({"b": 1, "a": "é"}) == hashlib.sha256('{"a":"é","b":1}'.encode()).hexdigest()


def test_a_generated_png_carries_xmp_and_a_c2pa_manifest():
    import c2pa

    record_id = str(uuid.uuid4())
    data = png_with_provenance(
        Image.new("L", (8, 8), 128), record_id=record_id, generator="tiny-vae v1", title="sample.png"
    )
    # XMP (written by Pillow) read from the raw chunks with lxml: IPTC's source type and the record's id
    assert_xmp_names(png_xmp(data), record_id)
    # The C2PA manifest store is a caBX chunk (JUMBF) naming the platform's assertion and the id
    manifest = b"".join(body for kind, body in png_chunks(data) if kind == b"caBX")
    assert b"c2pa" in manifest and b"org.aigc-platform.provenance" in manifest and record_id.encode() in manifest
    # and c2pa's own reader finds it valid (signed by the deployment's local CA: not on a trust list)
    report = json.loads(c2pa.Reader("image/png", io.BytesIO(data)).json())
    assert report["validation_state"] == "Valid", report.get("validation_status")
    assert {status["code"] for status in report.get("validation_status", [])} <= {"signingCredential.untrusted"}
    # and the picture still opens
    assert Image.open(io.BytesIO(data)).size == (8, 8)
