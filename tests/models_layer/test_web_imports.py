"""The web process stays light: loading the URL conf (every app's API and pages) imports no torch."""

import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "transformers", "xgrammar", "accelerate", "gguf")

PROBE = f"""
import sys
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns
import aigc_platform.asgi
from models_layer.registry.services import generation_submit
from models_layer.runtime import backend_names, get_backend
assert backend_names() and get_backend("transformers").formats
print("heavy:" + ",".join(name for name in {HEAVY!r} if name in sys.modules))
"""


def test_loading_the_url_conf_imports_no_torch():
    # Given a fresh interpreter, when it sets Django up and loads every route and the ASGI app
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="aigc_platform.settings")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # then none of the inference libraries was imported (torch alone costs ~250 MB of RSS)
    assert done.stdout.strip().splitlines()[-1] == "heavy:", f"imported at web start: {done.stdout.strip()}"
