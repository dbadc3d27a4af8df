"""`aigc doctor` against the real test servers (healthy) and with each service broken (clear advice, exit 1)."""

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.migrations.recorder import MigrationRecorder

from aigc_platform import embedded
from infrastructure.storage.backends import get_backend
from infrastructure.storage.services import storage_probe as check_storage
from tests.processes import process_env


def doctor() -> tuple[int, str]:
    """Run the command in this process (inside the test's transaction); returns (exit status, output)."""
    out = StringIO()
    try:
        call_command("doctor", stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def flat(text: str) -> str:
    """The output without the table's borders and line wraps, so phrases can be searched."""
    for border in "│┃┏┓┗┛┡┩└┘├┤┼┬┴━─╇╈╋┳┻":
        text = text.replace(border, " ")
    return " ".join(text.split())


@pytest.mark.django_db
def test_doctor_as_a_command_finds_every_service_healthy(worker):
    # Given PostgreSQL, Redis, local storage and a worker running for the test run
    # When a person runs `aigc doctor` against them
    result = subprocess.run(
        [sys.executable, "-m", "aigc_platform.cli", "doctor"],
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it exits 0 and says so, check by check
    assert result.returncode == 0, result.stdout + result.stderr
    output = flat(result.stdout)
    assert "connected to the postgresql at" in output
    assert "migrations ok all" in output
    assert "broker ok Redis" in output
    assert "a probe object was written, read back and deleted" in output
    assert "workers ok" in output and worker.name in output
    assert "Everything is working." in output


@pytest.mark.django_db
def test_doctor_with_a_broken_broker_url_says_which_url_and_exits_1():
    # Given a broker URL where nothing listens
    url = f"redis://127.0.0.1:{embedded.free_port()}/0"
    # When `aigc doctor` runs with it
    result = subprocess.run(
        [sys.executable, "-m", "aigc_platform.cli", "doctor"],
        env=process_env(CELERY_BROKER_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it exits 1, names the URL, and says what to check
    assert result.returncode == 1, result.stdout + result.stderr
    output = flat(result.stdout)
    assert f"Cannot reach Redis at {url}" in output
    assert "broker → Check CELERY_BROKER_URL" in output
    assert "database ok" in output


@pytest.mark.django_db
def test_doctor_lists_unapplied_migrations_and_says_to_migrate():
    # Given a database where one migration is recorded as not applied
    MigrationRecorder.Migration.objects.filter(app="audit", name="0001_initial").delete()
    # When the doctor runs
    code, output = doctor()
    # Then it names that migration and says to run `aigc migrate`
    assert code == 1
    output = flat(output)
    assert "1 not applied: audit.0001_initial" in output
    assert "migrations → Run `aigc migrate`" in output


@pytest.mark.django_db
def test_doctor_says_how_to_start_a_worker_when_none_is_online(settings):
    # Given no worker whose heartbeat is recent enough (the cutoff lies in the future)
    settings.WORKER_OFFLINE_SECONDS = -60
    # When the doctor runs
    code, output = doctor()
    # Then it says no worker is online and how to start one
    assert code == 1
    output = flat(output)
    assert "No worker is online" in output
    assert "workers → Start one with `aigc worker`" in output


@pytest.mark.django_db
def test_doctor_reports_unreachable_object_storage(settings):
    # Given an S3 endpoint where nothing listens
    settings.STORAGE_BACKEND = "s3"
    settings.S3_ENDPOINT = f"127.0.0.1:{embedded.free_port()}"
    settings.S3_ACCESS_KEY, settings.S3_SECRET_KEY = "doctor", "doctor-secret"
    # When the doctor runs
    code, output = doctor()
    # Then storage fails with the endpoint named and the settings to check
    assert code == 1
    output = flat(output)
    assert (
        f"storage FAIL Object storage cannot be used: Object storage at {settings.S3_ENDPOINT} is unreachable" in output
    )
    assert "storage → Check S3_ENDPOINT" in output


@pytest.mark.django_db
def test_doctor_writes_reads_and_deletes_a_probe_on_s3_and_leaves_nothing(s3_storage):
    # Given a healthy S3 server, when the doctor runs its storage check
    [finding] = check_storage()
    # Then the probe went through, and no object of it stays behind
    assert finding.ok, finding
    assert "a probe object was written, read back and deleted" in finding.detail
    assert list(get_backend().keys()) == []
