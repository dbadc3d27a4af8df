"""An S3 server that goes away in the middle of an upload: a clear 503 error, and no File row left behind."""
import io
import os
import signal
import threading

import pytest

from aigc_platform.core.errors import ServiceUnavailable
from infrastructure.storage import services
from infrastructure.storage.backends import get_backend
from infrastructure.storage.models import File
from infrastructure.storage.seaweedfs import seaweedfs_start

pytestmark = pytest.mark.django_db

PAYLOAD_BYTES = 48 * 1024 * 1024  # six multipart parts: the transfer lasts long enough to be cut


@pytest.fixture
def doomed_s3(tmp_path, settings):
    """A SeaweedFS of this test's own, which the test kills."""
    server = seaweedfs_start(tmp_path / "seaweedfs")
    for name, value in server.settings(bucket="doomed").items():
        setattr(settings, name, value)
    settings.STORAGE_STAGING_DIR = tmp_path / "staging"
    yield server
    server.stop()


def _kill_when_staged(server, staging_dir, killed: threading.Event) -> None:
    """Kill the server once the upload is fully staged, i.e. while it is being sent to S3."""
    while not killed.is_set():
        if any(path.stat().st_size >= PAYLOAD_BYTES for path in staging_dir.glob("*") if path.exists()):
            os.killpg(server.popen.pid, signal.SIGKILL)
            killed.set()
        killed.wait(0.01)


def test_s3_outage_mid_upload_is_a_clear_error_and_leaves_no_row(doomed_s3, settings, creator):
    get_backend().ensure_bucket()
    killed = threading.Event()
    watcher = threading.Thread(target=_kill_when_staged, args=(doomed_s3, settings.STORAGE_STAGING_DIR, killed))
    watcher.start()
    payload = os.urandom(PAYLOAD_BYTES)
    try:
        with pytest.raises(ServiceUnavailable) as raised:
            services.file_store(owner=creator, stream=io.BytesIO(payload), filename="dataset.bin")
    finally:
        killed.set()
        watcher.join()
    assert killed.is_set()
    assert raised.value.status_code == 503
    assert f"Object storage at {doomed_s3.endpoint} is unreachable" in raised.value.message
    assert not File.objects.exists()
    assert list(settings.STORAGE_STAGING_DIR.glob("*")) == []

