"""Finding 7 of issue 21 (API keys), as the attack: an API key could mint more API keys (so a leaked
key could outlive its revocation), and keys never expired.

Now a key has scopes (read, generate, admin): only an `admin` key manages keys; a `read` key only
reads. A key may expire, and an expired key gets a 401."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from aigc_platform.accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def keyed(raw_key: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")


def issue(client, **body) -> dict:
    response = client.post("/api/v1/api-keys/", {"name": "ci", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_key_cannot_mint_keys_unless_it_has_the_admin_scope(creator, client_for):
    # Given a key made the usual way (read and generate)
    key = issue(client_for(creator))
    # When it tries to mint another key, or to list or revoke keys
    minted = keyed(key["key"]).post("/api/v1/api-keys/", {"name": "persistence"}, format="json")
    # Then it is refused, and no key was made
    assert minted.status_code == 403, minted.content
    assert key["scopes"] == ["generate", "read"]
    assert "admin" in minted.json()["error"]["message"]
    assert keyed(key["key"]).get("/api/v1/api-keys/").status_code == 403
    assert keyed(key["key"]).delete(f"/api/v1/api-keys/{key['id']}/").status_code == 403
    assert ApiKey.objects.filter(owner=creator).count() == 1
    # while it does what its scopes say
    assert keyed(key["key"]).get("/api/v1/jobs/").status_code == 200
    # and a key with the admin scope manages keys
    admin_key = issue(client_for(creator), scopes=["admin"])
    assert (
        keyed(admin_key["key"])
        .post("/api/v1/api-keys/", {"name": "rotated", "scopes": ["read"]}, format="json")
        .status_code
        == 201
    )


def test_a_read_key_only_reads(creator, client_for):
    key = issue(client_for(creator), scopes=["read"])
    assert keyed(key["key"]).get("/api/v1/jobs/").status_code == 200
    submitted = keyed(key["key"]).post("/api/v1/jobs/", {"kind": "echo", "params": {"steps": 1}}, format="json")
    assert submitted.status_code == 403 and "'generate'" in submitted.json()["error"]["message"]


def test_an_expired_key_gets_401(creator, client_for):
    # Given a key that expires in an hour
    soon = timezone.now() + timedelta(hours=1)
    key = issue(client_for(creator), expires_at=soon.isoformat())
    assert keyed(key["key"]).get("/api/v1/jobs/").status_code == 200
    # When its hour has passed
    ApiKey.objects.filter(pk=key["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    # Then it is refused as a credential, and listed as inactive
    refused = keyed(key["key"]).get("/api/v1/jobs/")
    assert refused.status_code == 401 and "expired" in refused.json()["error"]["message"]
    [listed] = client_for(creator).get("/api/v1/api-keys/").json()["results"]
    assert listed["is_active"] is False and listed["expires_at"]
    # and an expiry in the past, or an unknown scope, is a 400
    assert (
        client_for(creator)
        .post("/api/v1/api-keys/", {"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, format="json")
        .status_code
        == 400
    )
    assert (
        client_for(creator).post("/api/v1/api-keys/", {"name": "x", "scopes": ["root"]}, format="json").status_code
        == 400
    )


def test_the_schema_documents_scopes_and_expiry(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    create = schema["components"]["schemas"]["ApiKeyCreateRequest"]["properties"]
    assert {"scopes", "expires_at"} <= set(create)
    assert {"scopes", "expires_at", "is_active"} <= set(schema["components"]["schemas"]["ApiKey"]["properties"])
