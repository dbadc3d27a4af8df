"""Registering remote engines: admins only, URLs checked, the key encrypted and never shown back (REST
API and the Django admin page), versions only on a registered endpoint, an endpoint in use kept."""

import pytest

from aigc_platform.audit.models import AuditEvent
from models_layer.registry import services
from models_layer.registry.crypto import secret_decrypt
from models_layer.registry.models import GeneratorVersion, RemoteEndpoint, VersionFormat

pytestmark = pytest.mark.django_db

KEY = "sk-live-abcdefghijklmnopqrstuvwxyz012345"


def test_only_admins_register_an_engine_and_its_url_is_checked(admin_user, operator, client_for):
    body = {"name": "vllm", "base_url": "http://vllm:8000/v1/", "api_key": KEY}
    assert client_for(operator).post("/api/v1/remote-endpoints/", body, format="json").status_code == 403
    assert client_for(operator).get("/api/v1/remote-endpoints/").status_code == 403
    admin = client_for(admin_user)
    for bad, field in (
        ("ftp://vllm/v1", "base_url"),
        ("http://user:pw@vllm/v1", "base_url"),
        ("http://vllm/v1?x=1", "base_url"),
    ):
        refused = admin.post("/api/v1/remote-endpoints/", {**body, "base_url": bad}, format="json")
        assert refused.status_code == 400 and field in refused.json()["error"]["fields"], refused.json()
    created = admin.post("/api/v1/remote-endpoints/", body, format="json")
    assert created.status_code == 201
    assert created.json()["base_url"] == "http://vllm:8000/v1" and created.json()["has_api_key"] is True
    assert KEY not in created.content.decode() and created.json()["health"]["state"] == "unknown"
    assert admin.post("/api/v1/remote-endpoints/", body, format="json").status_code == 409


def test_the_key_is_encrypted_rotated_and_removed_but_never_shown(admin_user, client_for):
    admin = client_for(admin_user)
    admin.post(
        "/api/v1/remote-endpoints/",
        {"name": "hosted", "base_url": "https://api.example.com/v1", "api_key": KEY},
        format="json",
    )
    stored = RemoteEndpoint.objects.get(name="hosted")
    assert KEY not in stored.api_key_encrypted and secret_decrypt(stored.api_key_encrypted) == KEY
    # When an admin changes its timeout only, the key stays; a new key replaces it; "" removes it
    assert (
        admin.patch("/api/v1/remote-endpoints/hosted/", {"timeout_seconds": 5}, format="json").json()["has_api_key"]
        is True
    )
    assert secret_decrypt(RemoteEndpoint.objects.get(name="hosted").api_key_encrypted) == KEY
    admin.patch("/api/v1/remote-endpoints/hosted/", {"api_key": "sk-new"}, format="json")
    assert secret_decrypt(RemoteEndpoint.objects.get(name="hosted").api_key_encrypted) == "sk-new"
    assert (
        admin.patch("/api/v1/remote-endpoints/hosted/", {"api_key": ""}, format="json").json()["has_api_key"] is False
    )
    # and the audit log says what changed, never the key
    events = list(
        AuditEvent.objects.filter(action__startswith="remote_endpoint").order_by("pk").values_list("detail", flat=True)
    )
    assert len(events) == 4 and [e["key_changed"] for e in events[1:]] == [False, True, True]
    assert not [e for e in events if KEY in str(e) or "sk-new" in str(e)]


def test_the_admin_page_encrypts_the_key_and_never_renders_it(admin_user, client):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    added = client.post(
        "/admin/registry/remoteendpoint/add/",
        {
            "name": "ollama",
            "base_url": "http://ollama:11434/v1",
            "api_key": KEY,
            "timeout_seconds": "30",
            "max_concurrency": "4",
            "structured_output": "json_schema",
        },
    )
    assert added.status_code == 302, added.context["adminform"].form.errors
    endpoint = RemoteEndpoint.objects.get(name="ollama")
    assert secret_decrypt(endpoint.api_key_encrypted) == KEY
    page = client.get(f"/admin/registry/remoteendpoint/{endpoint.pk}/change/").content.decode()
    assert "ollama:11434" in page and KEY not in page and endpoint.api_key_encrypted not in page
    refused = client.post(
        "/admin/registry/remoteendpoint/add/",
        {
            "name": "bad",
            "base_url": "http://u:p@host/v1",
            "timeout_seconds": "30",
            "max_concurrency": "4",
            "structured_output": "json_schema",
        },
    )
    assert refused.status_code == 200 and "Give the key as api_key" in refused.content.decode()


def test_a_remote_version_names_a_registered_endpoint_and_an_endpoint_in_use_is_kept(admin_user, operator, client_for):
    admin = client_for(admin_user)
    admin.post("/api/v1/remote-endpoints/", {"name": "vllm", "base_url": "http://vllm:8000/v1"}, format="json")
    # An operator's remote generator may use a registered endpoint (the URL and key stay the admin's)
    client = client_for(operator)
    assert (
        client.post(
            "/api/v1/generators/",
            {"slug": "qwen", "name": "Qwen", "kind": "text", "backend": "openai-compatible"},
            format="json",
        ).status_code
        == 201
    )
    missing = client.post("/api/v1/generators/qwen/remote-versions/", {"endpoint": "nope", "model": "q"}, format="json")
    assert missing.status_code == 404
    version = client.post(
        "/api/v1/generators/qwen/remote-versions/",
        {"endpoint": "vllm", "model": "Qwen/Qwen2.5-7B-Instruct"},
        format="json",
    )
    assert version.status_code == 201, version.json()
    body = version.json()
    assert body["format"] == VersionFormat.REMOTE and body["artifact"] is None and body["validation_job"]
    assert body["remote"] == {
        "endpoint": "vllm",
        "base_url": "http://vllm:8000/v1",
        "model": "Qwen/Qwen2.5-7B-Instruct",
    }
    assert "vllm:8000" in body["model_card"] and "Qwen/Qwen2.5-7B-Instruct" in body["model_card"]
    # A file cannot be uploaded as a remote version, nor a remote version made of a local generator
    with pytest.raises(Exception, match="endpoint and a model"):
        services.generator_version_create(
            generator=GeneratorVersion.objects.get().generator, artifact=None, format="remote"
        )
    # and the endpoint cannot be deleted while a version uses it
    deleted = admin.delete("/api/v1/remote-endpoints/vllm/")
    assert deleted.status_code == 409 and "qwen v1" in deleted.json()["error"]["message"]
