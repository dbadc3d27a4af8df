"""`aigc storage check` lists missing and corrupt objects and exits non-zero when there are any."""

import io
import subprocess
import sys

import pytest

from infrastructure.storage import services
from infrastructure.storage.backends import LocalBackend
from tests import processes
from tests.infrastructure.storage_helpers import PNG, backend  # noqa: F401


def _damage(backend, missing_key: str, corrupt_key: str) -> None:
    """Delete one object and overwrite another with other bytes of the same size, behind the platform's back."""
    with backend.open(corrupt_key) as stream:
        size = len(stream.read())
    backend.delete(missing_key)
    backend.delete(corrupt_key)
    if isinstance(backend, LocalBackend):
        path = backend.root / corrupt_key
        path.write_bytes(b"\0" * size)
    else:
        backend.client.put_object(backend.bucket, corrupt_key, io.BytesIO(b"\0" * size), size)


@pytest.mark.django_db(transaction=True)
def test_check_lists_missing_and_corrupt_objects_and_exits_non_zero(backend, settings, creator):
    healthy = services.file_store(owner=creator, stream=io.BytesIO(PNG), filename="healthy.png")
    gone = services.file_store(owner=creator, stream=io.BytesIO(b"gone " * 100), filename="gone.txt")
    broken = services.file_store(owner=creator, stream=io.BytesIO(b"broken " * 100), filename="broken.txt")
    env = {
        "AIGC_STORAGE_BACKEND": settings.STORAGE_BACKEND,
        "AIGC_STORAGE_DIR": str(settings.STORAGE_LOCAL_ROOT),
        "S3_ENDPOINT": settings.S3_ENDPOINT,
        "S3_ACCESS_KEY": settings.S3_ACCESS_KEY,
        "S3_SECRET_KEY": settings.S3_SECRET_KEY,
        "S3_BUCKET": settings.S3_BUCKET,
    }
    command = [sys.executable, "-m", "aigc_platform.cli", "storage", "check"]

    # Given intact objects, the check passes
    clean = subprocess.run(command, env=processes.process_env(**env), capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "3 objects of 3 files checked: 0 missing, 0 corrupt" in clean.stdout

    # When one object disappears and another changes under it
    _damage(backend, gone.key, broken.key)
    damaged = subprocess.run(command, env=processes.process_env(**env), capture_output=True, text=True, timeout=120)

    # then both are listed with their files, and the exit status says so
    assert damaged.returncode != 0
    lines = damaged.stdout.splitlines()
    assert any(line.startswith(f"MISSING  {gone.key}") and str(gone.id) in line for line in lines), damaged.stdout
    assert any(line.startswith(f"CORRUPT  {broken.key}") and "SHA-256" in line for line in lines), damaged.stdout
    assert healthy.key not in damaged.stdout
    assert "1 missing, 1 corrupt" in damaged.stderr
