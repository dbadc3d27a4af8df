"""Finding 7 of issue 21 (deploy secrets), as the attack: deploy/k8s/config.yaml ships placeholder
secrets, and its comment says `aigc doctor` refuses them, which it did not: a deployment applied
as shipped ran with a SECRET_KEY anybody can read in this repository.

Now `aigc doctor` and `aigc check --deploy` refuse the placeholders (and a short SECRET_KEY)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aigc_platform.core.health import secret_problems
from tests.processes import process_env

pytestmark = pytest.mark.django_db

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "config.yaml"


def shipped_secrets() -> dict[str, str]:
    [secret] = [doc for doc in yaml.safe_load_all(CONFIG.read_text()) if doc and doc["kind"] == "Secret"]
    return secret["stringData"]


def test_doctor_refuses_the_secrets_the_manifests_ship():
    shipped = shipped_secrets()
    env = process_env(**{name: shipped[name] for name in ("SECRET_KEY", "S3_ACCESS_KEY", "S3_SECRET_KEY")})
    # When `aigc doctor` runs with the secrets as deploy/k8s/config.yaml ships them
    result = subprocess.run(
        [sys.executable, "-m", "aigc_platform.cli", "doctor"], env=env, capture_output=True, text=True, timeout=120
    )
    output = " ".join(result.stdout.replace("│", " ").split())
    # Then it fails, naming each placeholder, and says how to make new ones
    assert result.returncode == 1, result.stdout + result.stderr
    assert "secrets FAIL" in output
    assert "SECRET_KEY is still the placeholder" in output and "S3_SECRET_KEY is still the placeholder" in output
    assert "secrets → Set each to a new random value" in output
    # and Django's deploy check refuses them too
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=CONFIG.parents[2],
    )
    assert check.returncode != 0 and "aigc.E001" in check.stderr


def test_the_database_password_placeholder_is_refused_too(monkeypatch):
    from django.conf import settings

    password = shipped_secrets()["DATABASE_URL"].split(":")[2].split("@")[0]
    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", password)
    assert any(
        problem.startswith("the DATABASE_URL password is still the placeholder") for problem in secret_problems()
    )
