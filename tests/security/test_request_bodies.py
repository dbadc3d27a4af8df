"""Finding 4 of issue 21, as the attack, against a real ASGI server: a chunked body (no
Content-Length) was read whole into a temporary file before routing and authentication, so anyone
could fill the web server's disk (600 MB to a URL that does not exist left 238 MB in a deleted
temporary file, and the 404 came only after the whole body); and a declared length up to ~5 GiB was
accepted on any URL.

Now a request is routed first (no route: the body is never read), a route's body is limited (uploads
their own limit, after authenticating the caller from the headers; everything else a small one), an
over-limit Content-Length is refused at once and a chunked body is cut off at the limit (413). The
fuzz below sends chunked and oversized bodies to every route, and watches the server's memory and
the temporary files it holds open."""

import os
import re
import select
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from rest_framework.authtoken.models import Token

from infrastructure.storage.uploads import MULTIPART_FRAMING_BYTES
from tests.processes import start_web

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

UPLOAD_LIMIT = 8 * 1024 * 1024  # the storage and dataset upload limits of this module's server
CHUNK = 256 * 1024
SENT_AT_MOST = 48 * 1024 * 1024  # what the client offers per request: far past every limit
# What may be in flight when the server stops reading: the loopback's socket buffers on both sides.
IN_FLIGHT = 20 * 1024 * 1024
MEMORY_GROWTH_MAX = 80 * 1024 * 1024
SAMPLE = {
    "UUIDConverter": "0b1c2d3e-4f50-4617-8899-aabbccddeeff",
    "IntConverter": "999999",
    "SlugConverter": "no-such-slug",
    "StringConverter": "no-such",
    "PathConverter": "no/such",
}


def every_route(patterns=None, prefix=""):
    """A sample path for every route of the URL conf (regex routes, the admin's app lists, aside)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            continue
        route = re.sub(
            r"<(?:\w+:)?(\w+)>",
            lambda m, converters=pattern.pattern.converters: SAMPLE.get(
                type(converters.get(m.group(1))).__name__, "no-such"
            ),
            str(pattern.pattern),
        )
        if isinstance(pattern, URLResolver):
            yield from every_route(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + route


ROUTES = sorted(set(every_route())) + ["/no/such/url/", "/api/v1/no-such-resource/"]


class ServerWatch:
    """Samples the server process: its peak resident memory, and the bytes of the files it holds open
    under its temporary directory (deleted ones included, as a spooled request body is)."""

    def __init__(self, pid: int, tmp_dir: Path):
        self.pid, self.tmp_dir = pid, str(tmp_dir)
        self.open_tmp_max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def peak_rss(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024

    def open_tmp_bytes(self) -> int:
        total = 0
        fd_dir = Path(f"/proc/{self.pid}/fd")
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(fd_dir / fd).startswith(self.tmp_dir):
                    total += os.stat(fd_dir / fd).st_size
            except OSError:
                continue
        return total

    def _run(self):
        while not self._stop.wait(0.02):
            self.open_tmp_max = max(self.open_tmp_max, self.open_tmp_bytes())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def body_web(django_db_setup, django_db_blocker, tmp_path_factory):
    tmp_dir = tmp_path_factory.mktemp("web-tmp")
    with django_db_blocker.unblock():
        service, url = start_web(
            tmp_path_factory.mktemp("bodies-web"),
            TMPDIR=str(tmp_dir),
            AIGC_STORAGE_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT),
            AIGC_DATASET_UPLOAD_MAX_BYTES=str(UPLOAD_LIMIT),
        )
    yield url, service, tmp_dir
    service.stop()


def _status(sock) -> int:
    sock.settimeout(30)
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0


def send_chunked(base: str, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """POST a chunked body of up to SENT_AT_MOST bytes, stopping once the server answers or stops
    reading; returns (status, bytes sent)."""
    url = urlsplit(base)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: application/json\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    )
    piece = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head.encode())
        sock.settimeout(2)
        try:
            while sent < SENT_AT_MOST:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered
                sock.sendall(piece)
                sent += CHUNK
            else:
                sock.sendall(b"0\r\n\r\n")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # it stopped reading, or closed the connection
        try:
            return _status(sock), sent
        except (TimeoutError, ConnectionResetError):
            return 0, sent


def send_declared(base: str, path: str, length: int, headers: dict[str, str]) -> int:
    """Declare a huge Content-Length, send a little, and read the answer: it must come from the headers."""
    url = urlsplit(base)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {length}\r\n"
        f"Content-Type: application/json\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"{" * 1000)
        return _status(sock)


def test_chunked_and_oversized_bodies_to_every_route_keep_memory_and_disk_bounded(body_web, operator):
    base, service, tmp_dir = body_web
    token = Token.objects.create(user=operator).key
    upload_limit = UPLOAD_LIMIT + MULTIPART_FRAMING_BYTES
    assert len(ROUTES) > 60 and "/api/v1/files/" in ROUTES
    with ServerWatch(service.popen.pid, tmp_dir) as watch:
        rss_before = watch.peak_rss()
        for path in ROUTES:
            for who, headers in (("anonymous", {}), ("signed in", {"Authorization": f"Token {token}"})):
                # A chunked body far past any limit: answered before the server read much more than the route's limit
                status, sent = send_chunked(base, path, headers)
                assert 400 <= status < 500, f"{who} chunked POST {path}: {status} after {sent:,} bytes"
                assert sent < upload_limit + IN_FLIGHT, f"{who} chunked POST {path}: the server read {sent:,} bytes"
                # A declared length of 10 GiB: answered from the headers
                status = send_declared(base, path, 10 * 1024**3, headers)
                assert 400 <= status < 500, f"{who} POST {path} declaring 10 GiB: {status}"
        rss_growth = watch.peak_rss() - rss_before
    # Then the web process's memory grew by a bounded amount, the temporary files it held never went
    # past the largest route limit, and nothing is left in its temporary directory
    assert rss_growth < MEMORY_GROWTH_MAX, f"peak RSS grew by {rss_growth / 2**20:.0f} MiB"
    assert watch.open_tmp_max <= upload_limit, f"{watch.open_tmp_max:,} bytes of temporary files held at once"
    assert sum(f.stat().st_size for f in tmp_dir.rglob("*") if f.is_file()) == 0
    print(
        f"\n{len(ROUTES)} routes; peak RSS growth {rss_growth / 2**20:.1f} MiB; "
        f"most temporary bytes held at once {watch.open_tmp_max / 2**20:.1f} MiB"
    )


def test_no_route_answers_404_without_reading_the_body_and_small_routes_cut_off_at_their_limit(body_web, operator):
    base, _, _ = body_web
    # A URL that resolves to nothing answers at once, however much is on its way
    status, sent = send_chunked(base, "/no/such/url/", {})
    assert status == 404 and sent < IN_FLIGHT, (status, sent)
    # An upload route refuses an anonymous caller before reading the body
    status, sent = send_chunked(base, "/api/v1/files/", {})
    assert status == 401 and sent < IN_FLIGHT, (status, sent)
    # A JSON route takes its small limit, and no more
    token = Token.objects.create(user=operator).key
    status, sent = send_chunked(base, "/api/v1/jobs/", {"Authorization": f"Token {token}"})
    assert status == 413 and settings.AIGC_MAX_REQUEST_BYTES <= sent < settings.AIGC_MAX_REQUEST_BYTES + IN_FLIGHT, (
        status,
        sent,
    )
