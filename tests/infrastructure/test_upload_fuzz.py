"""Malformed uploads against the real ASGI server: every answer is a 4xx JSON error (never a 5xx),
and nothing is left behind (no File row, no object, no staged bytes)."""

import json
import socket
from urllib.parse import urlsplit

import pytest
from rest_framework.authtoken.models import Token

from infrastructure.storage.backends import get_backend
from infrastructure.storage.models import File
from infrastructure.storage.uploads import StagedUploadApiMixin
from tests.infrastructure.storage_helpers import staged_files

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "fuzzboundary7f3a"
PAYLOAD = b"\x00\x01binary upload body\xff" * 2048


def part(
    name: str = "file",
    filename: str = "blob.bin",
    data: bytes = PAYLOAD,
    content_type: str = "application/octet-stream",
) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )


COMPLETE = part() + f"--{BOUNDARY}--\r\n".encode()
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def send(
    base_url: str,
    token: str,
    *,
    body: bytes,
    content_type: str | None,
    extra: dict[str, str] | None = None,
    content_length: int | None = None,
    close_after: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP/1.1 request (requests would fix what these cases break on purpose)."""
    url = urlsplit(base_url)
    headers = {
        "Host": url.netloc,
        "Authorization": f"Token {token}",
        "Connection": "close",
        "Content-Length": str(len(body) if content_length is None else content_length),
    }
    if content_type is not None:
        headers["Content-Type"] = content_type
    headers.update(extra or {})
    head = "POST /api/v1/files/ HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1") + body)
        if close_after:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    raw_headers, _, content = rest.partition(b"\r\n\r\n")
    response_headers = {}
    for line in raw_headers.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        response_headers[key.strip().lower()] = value.strip()
    if response_headers.get("transfer-encoding") == "chunked":
        content = dechunk(content)
    return int(status_line.split()[1]), response_headers, content


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


CASES = {
    # name: (body, content type, extra headers, declared Content-Length, close the sending side early)
    "truncated multipart (no closing boundary)": (part(), MULTIPART, None, None, False),
    "truncated in the middle of the file part": (COMPLETE[: len(COMPLETE) // 2], MULTIPART, None, None, False),
    "multipart without a boundary": (COMPLETE, "multipart/form-data", None, None, False),
    "multipart with a different boundary": (COMPLETE, "multipart/form-data; boundary=somethingelse", None, None, False),
    "JSON body": (json.dumps({"file": "blob.bin"}).encode(), "application/json", None, None, False),
    "plain text body": (PAYLOAD, "text/plain", None, None, False),
    "url-encoded form": (b"file=blob.bin", "application/x-www-form-urlencoded", None, None, False),
    "no content type": (COMPLETE, None, None, None, False),
    "octet-stream body": (PAYLOAD, "application/octet-stream", None, None, False),
    "empty multipart": (f"--{BOUNDARY}--\r\n".encode(), MULTIPART, None, None, False),
    "the wrong field name": (part(name="upload") + f"--{BOUNDARY}--\r\n".encode(), MULTIPART, None, None, False),
    "a part without a filename": (
        (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n\r\n').encode()
        + PAYLOAD
        + f"\r\n--{BOUNDARY}--\r\n".encode(),
        MULTIPART,
        None,
        None,
        False,
    ),
    "a part header without a blank line": (
        (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n').encode() + PAYLOAD,
        MULTIPART,
        None,
        None,
        False,
    ),
    "huge headers": (COMPLETE, MULTIPART, {f"X-Filler-{n}": "x" * 8000 for n in range(8)}, None, False),
    "a huge part header": (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{"a" * 100_000}.bin"\r\n\r\n'
        ).encode()
        + PAYLOAD
        + f"\r\n--{BOUNDARY}--\r\n".encode(),
        MULTIPART,
        None,
        None,
        False,
    ),
    # Only the first bytes are sent: the answer must come from the headers, before any body is read.
    "Content-Length over the limit": (
        COMPLETE[:1000],
        MULTIPART,
        None,
        StagedUploadApiMixin.request_body_limit() + 1,
        False,
    ),
}


@pytest.fixture
def nothing_left_behind(db):
    backend = get_backend()

    def leftovers() -> tuple[int, set[str], set[str]]:
        return File.objects.count(), set(backend.keys()), {path.name for path in staged_files(backend)}

    before = leftovers()
    yield
    assert leftovers() == before


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_upload_is_a_4xx_json_error_and_leaves_nothing(case, web, creator, nothing_left_behind):
    body, content_type, extra, content_length, close_after = CASES[case]
    token = Token.objects.create(user=creator).key
    status, headers, content = send(
        web,
        token,
        body=body,
        content_type=content_type,
        extra=extra,
        content_length=content_length,
        close_after=close_after,
    )
    assert 400 <= status < 500, f"{case}: {status} {content[:300]!r}"
    assert headers.get("content-type", "").startswith("application/json"), (
        f"{case}: {status} {headers} {content[:300]!r}"
    )
    error = json.loads(content)["error"]
    assert error["code"] and error["message"], error


@pytest.mark.parametrize("content_length", ["-1", "12abc", "1, 2"])
def test_an_unparsable_content_length_is_refused_by_the_http_server(content_length, web, creator, nothing_left_behind):
    # uvicorn refuses these itself (plain text, before the application): still a 4xx, never a 5xx
    token = Token.objects.create(user=creator).key
    status, _, content = send(
        web, token, body=COMPLETE, content_type=MULTIPART, extra={"Content-Length": content_length}, close_after=True
    )
    assert status == 400, content


def test_a_client_that_hangs_up_mid_upload_leaves_nothing_and_the_server_goes_on(web, creator, nothing_left_behind):
    # Given a client that declares the whole body, sends a third of it and hangs up
    token = Token.objects.create(user=creator).key
    url = urlsplit(web)
    head = (
        f"POST /api/v1/files/ HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Token {token}\r\n"
        f"Content-Type: {MULTIPART}\r\nContent-Length: {len(COMPLETE)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head + COMPLETE[: len(COMPLETE) // 3])
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(65536) == b""  # nobody is left to answer to
    # Then the server still serves the next request (and the fixture finds nothing left behind)
    status, headers, _ = send(web, token, body=b"{}", content_type="application/json")
    assert status == 415 and headers["content-type"] == "application/json"


def test_the_well_formed_upload_of_the_same_bytes_is_stored(web, creator):
    # The control case: the same request, complete, is accepted (so the cases above fail for their fault)
    token = Token.objects.create(user=creator).key
    status, _, content = send(web, token, body=COMPLETE, content_type=MULTIPART)
    assert status == 201, content
    assert json.loads(content)["size"] == len(PAYLOAD)
