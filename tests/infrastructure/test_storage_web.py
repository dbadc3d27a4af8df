"""Through the real ASGI server (local backend): a multipart upload, streamed to the upload handler as it
arrives, and the streamed download."""

import hashlib
import json
import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from rest_framework.authtoken.models import Token

from infrastructure.storage.backends import get_backend
from tests.processes import wait_for


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


@pytest.mark.django_db(transaction=True)
def test_the_next_request_on_the_connection_of_a_streamed_upload_has_its_own_body(web, creator):
    # Given a keep-alive connection that carried a streamed upload
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=creator).key}"
    response = session.post(
        f"{web}/api/v1/files/", files={"file": ("big.bin", os.urandom(4 * 1024 * 1024))}, timeout=30
    )
    assert response.status_code == 201, response.text
    # When the same connection sends a JSON request, Then the server reads that request's body
    response = session.post(f"{web}/api/v1/api-keys/", json={"name": "after-upload"}, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "after-upload"


@pytest.mark.django_db(transaction=True)
def test_an_upload_reaches_the_upload_handler_while_it_is_still_arriving(web, creator):
    # Given a client that sends the first part of a 12 MiB upload and then waits
    token = Token.objects.create(user=creator).key
    payload = os.urandom(12 * 1024 * 1024)
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    url = urlsplit(web)
    head = (
        f"POST /api/v1/files/ HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Token {token}\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    staging = get_backend().staging_dir
    first = 6 * 1024 * 1024

    def staged_bytes() -> int:
        total = 0
        for path in staging.glob("upload-*") if staging.exists() else ():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total

    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head + body[:first])
        # Then the server writes what came so far before the rest arrives (the body is not spooled whole first)
        wait_for(lambda: staged_bytes() >= 4 * 1024 * 1024, timeout=20, what="the first bytes to be staged")
        sock.sendall(body[first:])
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    # And the finished upload is stored whole
    status_line, _, rest = received.partition(b"\r\n")
    assert b" 201 " in status_line, received[:500]
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["sha256"] == hashlib.sha256(payload).hexdigest()
