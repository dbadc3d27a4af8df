"""Helpers shared by the storage tests: a backend fixture over both backends, upload and download."""

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from infrastructure.storage.backends import get_backend

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture(params=["local", "s3"])
def backend(request, settings, tmp_path):
    """Each test runs once on a fresh local directory and once on a fresh bucket of the real S3 server."""
    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_LOCAL_ROOT = tmp_path / "objects"
    settings.STORAGE_CACHE_DIR = tmp_path / "cache"
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return get_backend()


def upload(client, name: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.post(
        "/api/v1/files/", {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart"
    )


def download(client, file_id) -> tuple[bytes, str]:
    """The bytes and Content-Disposition of a download, following the S3 redirect like a browser."""
    response = client.get(f"/api/v1/files/{file_id}/download/")
    if response.status_code == 302:
        fetched = requests.get(response["Location"], timeout=10)
        fetched.raise_for_status()
        return fetched.content, fetched.headers.get("Content-Disposition", "")
    assert response.status_code == 200, response
    return b"".join(response.streaming_content), response["Content-Disposition"]


def staged_files(backend) -> list:
    """What an upload left in the local backend's staging directory (an S3 upload stages nothing on disk)."""
    staging = getattr(backend, "staging_dir", None)
    return list(staging.glob("*")) if staging is not None and staging.exists() else []
