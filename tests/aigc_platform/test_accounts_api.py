"""Tokens, API keys and the JSON error shape, over the REST API."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_token_for_right_password_authenticates_requests(creator, password):
    # Given a creator, when they ask for a token with the right password
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": creator.username, "password": password}, format="json")
    # then the token authenticates them
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = client.get("/api/v1/auth/me/").json()
    assert me["username"] == creator.username
    assert me["roles"] == ["creator"]


def test_wrong_password_is_a_clear_error(creator):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": creator.username, "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "authentication_failed", "message": "Wrong username or password."}}


@pytest.mark.parametrize("header", [None, "Token not-a-real-token", "Api-Key aigc_bad_key"])
def test_missing_or_bad_credentials_are_401(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/jobs/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}


def test_revoked_token_fails_at_once(creator, client_for):
    client = client_for(creator)
    assert client.get("/api/v1/jobs/").status_code == 200
    assert client.delete("/api/v1/auth/token/revoke/").status_code == 204
    assert client.get("/api/v1/jobs/").status_code == 401


def test_malformed_json_is_400_not_500(creator, client_for):
    response = client_for(creator).post("/api/v1/api-keys/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_unknown_fields_are_rejected_by_name(creator, client_for):
    response = client_for(creator).post("/api/v1/api-keys/", {"name": "ci", "colour": "red"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"colour": ["Unknown field."]}


def test_api_key_is_shown_once_works_and_stops_working_when_revoked(creator, client_for):
    # Given a key a creator made
    created = client_for(creator).post("/api/v1/api-keys/", {"name": "ci"}, format="json")
    assert created.status_code == 201
    raw_key = created.json()["key"]
    # then listing keys never shows the key again
    listed = client_for(creator).get("/api/v1/api-keys/").json()["results"]
    assert [k["name"] for k in listed] == ["ci"] and "key" not in listed[0]
    # and the key acts as its user, by either header
    by_header = APIClient()
    by_header.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert by_header.get("/api/v1/auth/me/").json()["username"] == creator.username
    by_x_header = APIClient(HTTP_X_API_KEY=raw_key)
    assert by_x_header.get("/api/v1/auth/me/").json()["username"] == creator.username
    # when it is revoked, it fails at once
    assert client_for(creator).delete(f"/api/v1/api-keys/{created.json()['id']}/").json()["is_active"] is False
    assert by_header.get("/api/v1/auth/me/").status_code == 401


def test_api_keys_are_stored_hashed(creator, client_for):
    from aigc_platform.accounts.models import ApiKey

    raw_key = client_for(creator).post("/api/v1/api-keys/", {"name": "ci"}, format="json").json()["key"]
    stored = ApiKey.objects.get(owner=creator)
    assert raw_key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64


def test_another_users_api_key_cannot_be_revoked(creator, other_creator, client_for):
    key_id = client_for(creator).post("/api/v1/api-keys/", {"name": "mine"}, format="json").json()["id"]
    response = client_for(other_creator).delete(f"/api/v1/api-keys/{key_id}/")
    assert response.status_code == 404


def test_unknown_api_path_is_json_404(creator, client_for):
    response = client_for(creator).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_health_reports_every_part_to_operators(operator, client_for):
    body = client_for(operator).get("/api/v1/health/").json()
    assert set(body["checks"]) == {"database", "broker", "storage", "workers"}
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"] and body["checks"]["storage"]["ok"]
