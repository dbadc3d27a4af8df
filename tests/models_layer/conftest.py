"""Fixtures of the model layer: the built-in generator (the inference worker is in tests/conftest.py)."""
import os
from pathlib import Path

import pytest
from django.conf import settings


# Converting the built-in GGUF into a checkpoint folder takes most of a minute; the folders are keyed
# by content hash, so test runs share them here instead of converting again in each fresh data dir.
MODEL_FOLDERS = Path(os.environ.get("AIGC_MODEL_FOLDERS_DIR", Path.home() / ".cache" / "aigc-platform" / "model-folders"))


@pytest.fixture(scope="session", autouse=True)
def shared_model_folders():
    MODEL_FOLDERS.mkdir(parents=True, exist_ok=True)
    settings.MODEL_FOLDERS_DIR = MODEL_FOLDERS


@pytest.fixture
def builtin(db):
    """The built-in SmolLM2 generator's production version (its GGUF stored in object storage)."""
    from models_layer.registry.services import generators_bootstrap

    return generators_bootstrap()
