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
    yield server
    server.stop()


class KillingStream(io.BytesIO):
    """The upload's source; it kills the S3 server once half of it has been read (parts are in flight)."""

    def __init__(self, payload: bytes, server):
        super().__init__(payload)
        self.server, self.killed = server, False

    def read(self, size=-1):
        if not self.killed and self.tell() >= PAYLOAD_BYTES // 2:
            os.killpg(self.server.popen.pid, signal.SIGKILL)
            self.killed = True
        return super().read(size)


def test_s3_outage_mid_upload_is_a_clear_error_and_leaves_no_row(doomed_s3, creator):
    get_backend().ensure_bucket()
    threads_before = {thread.name for thread in threading.enumerate()}
    stream = KillingStream(os.urandom(PAYLOAD_BYTES), doomed_s3)
    with pytest.raises(ServiceUnavailable) as raised:
        services.file_store(owner=creator, stream=stream, filename="dataset.bin")
    assert stream.killed
    assert raised.value.status_code == 503
    assert f"Object storage at {doomed_s3.endpoint} is unreachable" in raised.value.message
    assert not File.objects.exists()
    # and the upload's part senders are gone with it
    assert {thread.name for thread in threading.enumerate()} - threads_before == set()
