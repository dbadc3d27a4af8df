"""The audit log records promotions, rollbacks and deletions a person asked for; Django admin's own
log of admin actions is shown beside it."""

import io

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.utils import timezone

from aigc_platform.accounts.services import api_key_create
from aigc_platform.audit.models import AuditEvent
from aigc_platform.core.errors import ApplicationError
from infrastructure.storage.models import File
from infrastructure.storage.services import file_store
from models_layer.registry import services as registry
from models_layer.registry.models import GeneratorVersion, Stage
from tools_layer.datasets.models import Dataset
from tools_layer.datasets.services import dataset_create

pytestmark = pytest.mark.django_db


def test_promotion_and_rollback_are_audited_with_the_versions(operator):
    # Given a generator with two validated staging versions
    generator = registry.generator_create(owner=operator, slug="audited", name="Audited", kind="text")
    artifact = file_store(owner=operator, stream=io.BytesIO(b"weights"), filename="w.gguf")
    v1, v2 = (
        registry.generator_version_create(generator=generator, artifact=artifact, format="gguf", created_by=operator)
        for _ in range(2)
    )
    GeneratorVersion.objects.filter(generator=generator).update(stage=Stage.STAGING, validated_at=timezone.now())
    # When the operator promotes v1, then v2, then rolls back
    registry.generator_version_promote(user=operator, version=v1, stage=Stage.PRODUCTION)
    registry.generator_version_promote(user=operator, version=v2, stage=Stage.PRODUCTION)
    registry.generator_version_rollback(user=operator, generator=generator)
    # Then each is in the audit log, oldest first, with who and which versions
    events = list(AuditEvent.objects.filter(target_type="registry.generatorversion").order_by("id"))
    assert [(e.action, e.actor_id) for e in events] == [
        ("generator_version_promoted", operator.pk),
        ("generator_version_promoted", operator.pk),
        ("generator_version_rolled_back", operator.pk),
    ]
    assert events[0].detail == {
        "generator": "audited",
        "version": 1,
        "from": "staging",
        "to": "production",
        "replaced_version": None,
        "comparison": None,  # the blind comparison a promotion cites, when it cites one
    }
    assert events[1].detail["replaced_version"] == 1 and events[1].target_id == str(v2.pk)
    assert events[2].detail == {"generator": "audited", "from_version": 2, "to_version": 1}


def test_a_refused_promotion_is_not_audited(operator):
    generator = registry.generator_create(owner=operator, slug="draft-only", name="Draft", kind="text")
    artifact = file_store(owner=operator, stream=io.BytesIO(b"weights"), filename="w.gguf")
    draft = registry.generator_version_create(
        generator=generator, artifact=artifact, format="gguf", created_by=operator
    )
    with pytest.raises(ApplicationError):
        registry.generator_version_promote(user=operator, version=draft, stage=Stage.PRODUCTION)
    assert not AuditEvent.objects.filter(action="generator_version_promoted").exists()


def test_deleting_a_file_and_a_dataset_over_the_api_is_audited(operator, client_for):
    client = client_for(operator)
    stored = file_store(owner=operator, stream=io.BytesIO(b"to be deleted"), filename="gone.txt")
    dataset = dataset_create(owner=operator, name="old prose", kind="text")
    assert client.delete(f"/api/v1/files/{stored.pk}/").status_code == 204
    assert client.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 204
    assert not File.objects.filter(pk=stored.pk).exists() and not Dataset.objects.filter(pk=dataset.pk).exists()
    file_event = AuditEvent.objects.get(action="file_deleted")
    assert (file_event.actor_id, file_event.target_id, file_event.detail["filename"]) == (
        operator.pk,
        str(stored.pk),
        "gone.txt",
    )
    assert file_event.ip == "127.0.0.1"
    dataset_event = AuditEvent.objects.get(action="dataset_deleted")
    assert (dataset_event.target_type, dataset_event.target_id, dataset_event.detail["name"]) == (
        "datasets.dataset",
        str(dataset.pk),
        "old prose",
    )


def test_revoking_an_api_key_is_audited(creator, client_for):
    issued = api_key_create(owner=creator, name="ci")
    assert client_for(creator).delete(f"/api/v1/api-keys/{issued.api_key.pk}/").status_code == 200
    assert AuditEvent.objects.filter(action="api_key_revoked", actor=creator, target_id=str(issued.api_key.pk)).exists()


def test_an_admins_deletion_in_django_admin_is_logged_and_shown(admin_user, creator, client):
    issued = api_key_create(owner=creator, name="leaked")
    client.force_login(admin_user)
    response = client.post(f"/admin/accounts/apikey/{issued.api_key.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    entry = LogEntry.objects.get(object_id=str(issued.api_key.pk), action_flag=DELETION)
    assert entry.user_id == admin_user.pk
    page = client.get("/admin/admin/logentry/").content.decode()
    assert "leaked" in page
