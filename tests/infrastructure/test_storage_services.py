"""The storage contract other layers use: file_store(_path), file_open, file_local_path, system files."""

import hashlib
import io

import pytest

from aigc_platform.core.errors import PayloadTooLarge
from infrastructure.storage import selectors, services
from tests.infrastructure.storage_helpers import PNG, backend  # noqa: F401

pytestmark = pytest.mark.django_db


def test_stored_path_reads_back_as_a_stream_and_as_a_verified_local_path(backend, tmp_path, creator):
    source = tmp_path / "weights.safetensors"
    source.write_bytes(PNG * 200)
    file = services.file_store_path(owner=creator, path=source)
    assert file.filename == "weights.safetensors" and file.size == len(PNG) * 200
    with selectors.file_open(file=file) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == file.sha256
    local = selectors.file_local_path(file=file)
    assert local.read_bytes() == source.read_bytes()
    # A second call reuses the same local copy.
    assert selectors.file_local_path(file=file) == local


def test_a_caller_hint_names_only_what_the_bytes_cannot(backend, creator):
    opaque = services.file_store(
        owner=creator,
        stream=io.BytesIO(bytes([0, 1, 2, 255]) * 10),
        filename="a.bin",
        content_type="application/x-custom",
    )
    lying = services.file_store(owner=creator, stream=io.BytesIO(PNG), filename="b.html", content_type="text/html")
    assert (opaque.content_type, lying.content_type) == ("application/x-custom", "image/png")


def test_system_files_count_against_no_quota(backend, settings, creator):
    settings.STORAGE_USER_QUOTA_BYTES = 100
    system = services.file_store(owner=None, stream=io.BytesIO(PNG), filename="model.gguf")
    assert system.owner is None
    with pytest.raises(PayloadTooLarge):
        services.file_store(owner=creator, stream=io.BytesIO(PNG), filename="mine.png")
    assert list(selectors.files_visible_to(user=creator)) == []
