"""Stages, promotion and rollback of generator versions."""

import pytest
from django.db import IntegrityError, transaction

from aigc_platform.core.errors import Conflict, PermissionDenied
from models_layer.registry import selectors, services
from models_layer.registry.models import Stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_generator(builtin, operator):
    """An operator's generator with two validated versions of the built-in weights (v1, v2) and a draft (v3)."""
    generator = services.generator_create(owner=operator, slug="house-style", name="House style", kind="text")
    versions = [
        services.generator_version_create(
            generator=generator, artifact=builtin.artifact, format="gguf", created_by=operator
        )
        for _ in range(3)
    ]
    for version in versions[:2]:
        services.generator_version_validate(version_id=version.pk)
    return generator


def test_validation_moves_a_draft_to_staging(own_generator):
    assert [v.stage for v in selectors.generator_versions(generator=own_generator)] == [
        Stage.DRAFT,
        Stage.STAGING,
        Stage.STAGING,
    ]


def test_promote_keeps_one_production_version_and_rollback_restores_the_previous(own_generator, operator):
    v1 = selectors.generator_version_get(generator=own_generator, number=1)
    v2 = selectors.generator_version_get(generator=own_generator, number=2)
    services.generator_version_promote(user=operator, version=v1, stage=Stage.PRODUCTION)
    services.generator_version_promote(user=operator, version=v2, stage=Stage.PRODUCTION)
    assert selectors.generator_production_version(generator=own_generator).number == 2
    v1.refresh_from_db()
    assert v1.stage == Stage.ARCHIVED

    restored = services.generator_version_rollback(user=operator, generator=own_generator)
    assert restored.number == 1 and selectors.generator_production_version(generator=own_generator).number == 1
    v2.refresh_from_db()
    assert v2.stage == Stage.ARCHIVED
    with pytest.raises(Conflict):
        services.generator_version_rollback(user=operator, generator=own_generator)


def test_an_unvalidated_draft_cannot_be_promoted(own_generator, operator):
    draft = selectors.generator_version_get(generator=own_generator, number=3)
    with pytest.raises(Conflict, match="validation"):
        services.generator_version_promote(user=operator, version=draft, stage=Stage.STAGING)


def test_only_the_owner_or_an_admin_changes_stages(own_generator, creator):
    v1 = selectors.generator_version_get(generator=own_generator, number=1)
    with pytest.raises(PermissionDenied):
        services.generator_version_promote(user=creator, version=v1, stage=Stage.PRODUCTION)


def test_the_database_refuses_a_second_production_version(own_generator):
    v1, v2 = (selectors.generator_version_get(generator=own_generator, number=n) for n in (1, 2))
    type(v1).objects.filter(pk=v1.pk).update(stage=Stage.PRODUCTION)
    with pytest.raises(IntegrityError), transaction.atomic():
        type(v2).objects.filter(pk=v2.pk).update(stage=Stage.PRODUCTION)


def test_bootstrap_is_idempotent(builtin):
    again = services.generators_bootstrap()
    assert again.pk == builtin.pk and again.stage == Stage.PRODUCTION
    assert selectors.generator_production_version(generator="smollm2-135m-instruct").pk == builtin.pk
