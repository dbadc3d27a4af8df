"""Fixtures of the application layer: the built-in generator, its converted checkpoint shared
between runs, and small helpers to wait for a job."""
import os
from pathlib import Path

import pytest
from django.conf import settings

# Converting the built-in GGUF takes most of a minute; the folders are keyed by content hash, so runs
# share them. Set before any worker process starts, so the session's worker uses them too.
MODEL_FOLDERS = Path(os.environ.setdefault(
    "AIGC_MODEL_FOLDERS_DIR", str(Path.home() / ".cache" / "aigc-platform" / "model-folders")))


@pytest.fixture(scope="session", autouse=True)
def shared_model_folders():
    MODEL_FOLDERS.mkdir(parents=True, exist_ok=True)
    settings.MODEL_FOLDERS_DIR = MODEL_FOLDERS


@pytest.fixture
def builtin(db):
    """The built-in SmolLM2 generator's production version (the applications' English writer)."""
    from models_layer.registry.services import generators_bootstrap

    return generators_bootstrap()


@pytest.fixture
def marketing_templates(db):
    """The built-in marketing templates, seeded by the same function as their data migration (a
    transactional test's flush empties every table, the migration's rows included)."""
    import importlib

    from django.apps import apps

    importlib.import_module("applications.marketing.migrations.0002_seed_templates").seed(apps, None)
    importlib.import_module("applications.marketing.migrations.0003_plain_prompts").refresh(apps, None)
