"""Through the real ASGI server (local backend): a multipart upload and the streamed download."""
import hashlib
import os

import pytest
import requests
from rest_framework.authtoken.models import Token


@pytest.mark.django_db(transaction=True)
def test_upload_and_streamed_download_through_uvicorn(web, creator):
    headers = {"Authorization": f"Token {Token.objects.create(user=creator).key}"}
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several upload-handler and download chunks
    response = requests.post(f"{web}/api/v1/files/", files={"file": ("blob.bin", payload)}, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    file = response.json()
    assert file["sha256"] == hashlib.sha256(payload).hexdigest()
    download = requests.get(file["download_url"], headers=headers, timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Length"] == str(len(payload))
    assert download.content == payload
