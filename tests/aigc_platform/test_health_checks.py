"""The health checks stay cheap under probes: the migration graph is built again only after a while
once everything is applied, and pending migrations are reported at once."""

import pytest
from django.db.migrations.recorder import MigrationRecorder

from aigc_platform.core import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied_until", 0.0)


def test_pending_migrations_are_reported_at_once(fresh):
    MigrationRecorder.Migration.objects.filter(app="audit", name="0001_initial").delete()
    result = health.check_database()
    assert not result.ok and "1 migrations not applied" in result.detail
    # and still on the next call: a failure is never remembered
    assert not health.check_database().ok


def test_applied_migrations_are_remembered_for_a_while(fresh, monkeypatch):
    assert health.check_database().ok
    built = []
    real = health.MigrationExecutor
    monkeypatch.setattr(health, "MigrationExecutor", lambda connection: built.append(1) or real(connection))
    assert health.check_database().ok and built == []
    # once the window has passed, the graph is built and checked again
    monkeypatch.setattr(health, "_migrations_applied_until", 0.0)
    assert health.check_database().ok and built == [1]


def test_the_broker_check_reuses_one_client(settings):
    assert health.check_broker().ok
    assert health._broker_client(settings.CELERY_BROKER_URL) is health._broker_client(settings.CELERY_BROKER_URL)
