"""A large upload to S3 goes up part by part while it arrives: stored whole, typed by its bytes,
shared with an equal upload, and, when refused midway, nothing of it stays on the server."""

import hashlib
import io
import os

import pytest

from aigc_platform.core.errors import PayloadTooLarge
from infrastructure.storage import services
from infrastructure.storage.backends import HASH_PREFIX, S3_PART_SIZE, STREAMED_PREFIX, get_backend
from infrastructure.storage.models import File
from infrastructure.storage.selectors import file_open, storage_check

pytestmark = pytest.mark.django_db

PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def large_payload() -> bytes:
    """Two and a half parts, starting like a PNG (so its type comes from its bytes)."""
    return PNG_HEAD + os.urandom(S3_PART_SIZE * 5 // 2)


def read_back(file: File) -> bytes:
    with file_open(file=file) as stream:
        return stream.read()


def test_a_large_upload_is_stored_whole_and_an_equal_one_shares_its_object(
    s3_storage, creator, other_creator, django_capture_on_commit_callbacks
):
    # Given a payload of several parts
    payload = large_payload()
    # When it is stored
    first = services.file_store(owner=creator, stream=io.BytesIO(payload), filename="big.png")
    # Then its row has the bytes' hash, size and sniffed type, and the object reads back whole
    assert first.sha256 == hashlib.sha256(payload).hexdigest()
    assert (first.size, first.content_type) == (len(payload), "image/png")
    assert first.key.startswith(STREAMED_PREFIX)
    assert read_back(first) == payload
    # When another user stores the same bytes, both rows name one object
    second = services.file_store(owner=other_creator, stream=io.BytesIO(payload), filename="copy.png")
    assert second.key == first.key
    assert File.objects.get(pk=second.pk).key == first.key
    assert list(get_backend().keys()) == [first.key]
    # And the storage check finds every object whole and none unreferenced
    report = storage_check()
    assert (report.problems, report.orphans) == ([], [])
    # And when both files are deleted, the object goes with the last
    for file in (first, second):
        with django_capture_on_commit_callbacks(execute=True):
            services.file_delete(file=file)
    assert list(get_backend().keys()) == []


def test_a_small_upload_to_s3_is_named_by_its_hash(s3_storage, creator):
    file = services.file_store(owner=creator, stream=io.BytesIO(b"a few bytes"), filename="small.txt")
    assert file.key == f"{HASH_PREFIX}{file.sha256[:2]}/{file.sha256[2:4]}/{file.sha256}"
    assert read_back(file) == b"a few bytes"


def test_a_large_upload_over_the_limit_midway_leaves_nothing_on_the_server(s3_storage, settings, creator):
    # Given a maximum upload size that the payload passes only after its first parts went up
    settings.STORAGE_MAX_UPLOAD_BYTES = S3_PART_SIZE * 2
    backend = get_backend()
    # When it is stored, it is refused
    with pytest.raises(PayloadTooLarge):
        services.file_store(owner=creator, stream=io.BytesIO(large_payload()), filename="big.bin")
    # And no object, no unfinished multipart upload and no row stays behind
    assert list(backend.keys()) == []
    assert list(backend.client._list_multipart_uploads(backend.bucket).uploads) == []
    assert not File.objects.exists()
