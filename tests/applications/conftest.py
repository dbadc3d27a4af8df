"""Fixtures of the application layer: the built-in marketing templates (the built-in generator and its
shared checkpoint folders are in tests/conftest.py)."""

import pytest


@pytest.fixture
def marketing_templates(db):
    """The built-in marketing templates, seeded by the same function as their data migration (a
    transactional test's flush empties every table, the migration's rows included)."""
    import importlib

    from django.apps import apps

    importlib.import_module("applications.marketing.migrations.0002_seed_templates").seed(apps, None)
    importlib.import_module("applications.marketing.migrations.0003_plain_prompts").refresh(apps, None)
