"""The files API on both backends: upload, dedup, download, delete, limits, sniffed type, ownership."""

import hashlib

import pytest

from infrastructure.storage.models import File
from tests.infrastructure.storage_helpers import PNG, backend, download, staged_files, upload  # noqa: F401

pytestmark = pytest.mark.django_db


def test_upload_sniffs_the_type_and_downloads_the_same_bytes(backend, creator, client_for):
    client = client_for(creator)
    # Given PNG bytes that the client calls a text file
    response = upload(client, "notes.txt", PNG, content_type="text/plain")
    # then the row has the sniffed type, the bytes' hash and size
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["content_type"] == "image/png"
    assert body["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert body["size"] == len(PNG)
    assert body["filename"] == "notes.txt"
    assert body["download_url"].endswith(f"/api/v1/files/{body['id']}/download/")
    assert client.get(f"/api/v1/files/{body['id']}/").json()["sha256"] == body["sha256"]
    # and a download gives back exactly those bytes, as an attachment under its name
    data, disposition = download(client, body["id"])
    assert data == PNG
    assert "attachment" in disposition and "notes.txt" in disposition
    assert staged_files(backend) == []


def test_equal_bytes_are_stored_once_and_deleted_with_the_last_file(
    backend, creator, other_creator, client_for, django_capture_on_commit_callbacks
):
    first = upload(client_for(creator), "a.bin", PNG).json()
    second = upload(client_for(other_creator), "b.bin", PNG).json()
    assert first["id"] != second["id"]
    assert len(list(backend.keys())) == 1
    # When the first owner deletes their file, the other's still downloads
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(creator).delete(f"/api/v1/files/{first['id']}/").status_code == 204
    assert download(client_for(other_creator), second["id"])[0] == PNG
    # and when the last file goes, so does the object
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(other_creator).delete(f"/api/v1/files/{second['id']}/").status_code == 204
    assert list(backend.keys()) == []


def test_over_the_quota_is_413_and_stores_nothing(backend, settings, creator, client_for):
    settings.STORAGE_USER_QUOTA_BYTES = 3000
    client = client_for(creator)
    assert upload(client, "first.bin", b"a" * 2000).status_code == 201
    response = upload(client, "second.bin", b"b" * 2000)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert "quota" in error["message"] and "second.bin" in error["message"]
    assert File.objects.filter(owner=creator).count() == 1
    assert len(list(backend.keys())) == 1
    assert staged_files(backend) == []


def test_over_the_maximum_upload_size_is_413_and_stores_nothing(backend, settings, creator, client_for):
    settings.STORAGE_MAX_UPLOAD_BYTES = 1000
    response = upload(client_for(creator), "big.bin", b"x" * 5000)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    assert "maximum upload size" in response.json()["error"]["message"]
    assert not File.objects.exists()
    assert list(backend.keys()) == []
    assert staged_files(backend) == []


def test_another_users_file_is_404_and_unlisted(backend, creator, other_creator, client_for):
    file_id = upload(client_for(creator), "mine.bin", PNG).json()["id"]
    other = client_for(other_creator)
    for response in (
        other.get(f"/api/v1/files/{file_id}/"),
        other.get(f"/api/v1/files/{file_id}/download/"),
        other.delete(f"/api/v1/files/{file_id}/"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert other.get("/api/v1/files/").json()["count"] == 0
    assert File.objects.filter(pk=file_id).exists()


def test_list_is_paged_newest_first(backend, creator, client_for):
    client = client_for(creator)
    for index in range(3):
        upload(client, f"{index}.txt", f"text {index}\n".encode())
    page = client.get("/api/v1/files/?page_size=2").json()
    assert page["count"] == 3
    assert [file["filename"] for file in page["results"]] == ["2.txt", "1.txt"]
    assert page["results"][0]["content_type"] == "text/plain"
    assert page["next"]


def test_upload_without_a_file_field_is_a_clear_400(creator, client_for):
    response = client_for(creator).post("/api/v1/files/", {}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["file"]
