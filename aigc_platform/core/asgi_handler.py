"""Adapter: Django's ASGI handler, written for Django 5.2. It overrides `load_middleware` and wraps the
private `_middleware_chain`, passes its own `create_request(scope, body_file)`, and relies on how
`handle` reads a body (`http.request` messages, then listening for `http.disconnect`).
tests/adapters/test_django_asgi.py fails with this module's name when Django moves them.

Django's ASGI handler, changed in three ways: two that cost a lot under the stock one, and one
that let anyone fill the web server's disk.

1. The middleware runs as one synchronous chain. Under ASGI Django runs each middleware in async
   mode, and every synchronous hook of Django's own middleware (process_request, process_view,
   process_response) then hops to a worker thread and back: a dozen thread hops per request, each
   waiting on the event loop, which cost more than a small API view itself and grew with load. The
   views here are synchronous (DRF), so the chain is loaded in synchronous mode and entered once per
   request, in the request's own thread; async views (the server-sent event streams) still run on
   the event loop, and streaming responses are sent as before.

2. An upload's body is streamed to the view. The stock handler reads a whole body into a temporary
   file before any view runs, so a 1 GB upload was written to disk, read back by the multipart
   parser and written again by the upload handler. A multipart body larger than
   FILE_UPLOAD_MAX_MEMORY_SIZE is now read from the connection as the parser asks for it, so the
   upload handler receives the bytes while they arrive.

3. A request is routed before its body is read. The stock handler read any body whole into a
   temporary file, on any URL, before routing or authentication: a chunked body of any size to a URL
   that does not exist was written to disk before the 404. Now a URL that resolves to no view is
   answered without reading its body; a route's body is limited by its view (uploads have their own
   large limit, everything else a small one, aigc_platform/core/asgi_limits.py), an over-limit
   Content-Length is refused at once and a chunked body is cut off at the limit (413); and a route
   whose limit is larger than the small one authenticates its caller from the headers first (401).
"""

import asyncio
import io
import threading
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.urls import Resolver404, get_resolver

from aigc_platform.core import asgi_limits
from aigc_platform.core.byte_queue import ByteQueue

WRITTEN_FOR = "Django 5.2"

# Bytes gathered from the connection per hop to the event loop (uvicorn delivers ~64 KiB at a time).
READ_BATCH = 1024 * 1024

# The scope key that hands a request's StreamedBody from `handle` to `create_request`. (Not a context
# variable: the event loop's reader callbacks for a connection can run in the context of the request
# that last resumed reading, and the next request on that connection would inherit its body.)
STREAMED_BODY = "aigc.streamed_body"


def streams_body(scope) -> bool:
    """Multipart bodies over the in-memory limit are streamed; everything else is read whole first."""
    if scope.get("method") not in ("POST", "PUT", "PATCH"):
        return False
    length = content_type = None
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            length = value
        elif name == b"content-type":
            content_type = value
    if not content_type or not content_type.lower().startswith(b"multipart/form-data") or length is None:
        return False
    try:
        return int(length) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    except ValueError:
        return False


class StreamedBody(io.RawIOBase):
    """A request body read from the ASGI connection on demand, by the view's thread.

    `read` runs in the request's worker thread and fetches more from the event loop when its buffer
    runs short; a client that disconnects mid-body raises RequestAborted in the reader."""

    def __init__(self, receive, loop: asyncio.AbstractEventLoop):
        super().__init__()
        self._receive = receive
        self._loop = loop
        self._buffer = ByteQueue()  # the connection's messages as they came: read() copies each byte once
        self._more = True
        self.consumed = asyncio.Event()

    def readable(self) -> bool:
        return True

    async def _fill(self, wanted: int) -> None:
        while self._more and len(self._buffer) < wanted:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._more = False
                self.consumed.set()
                raise RequestAborted()
            self._buffer.append(message.get("body", b""))
            self._more = message.get("more_body", False)
        if not self._more:
            self.consumed.set()

    def _fetch(self, wanted: int) -> None:
        """Buffer at least `wanted` bytes (or the rest of the body), waiting on the event loop."""
        if threading.current_thread() is threading.main_thread():
            raise RuntimeError("A streamed request body is read from the view's thread, not the event loop.")
        asyncio.run_coroutine_threadsafe(self._fill(wanted), self._loop).result()

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            # The rest of the body (only for callers that ask for it all; the multipart parser never does).
            while self._more:
                self._fetch(len(self._buffer) + READ_BATCH)
            size = len(self._buffer)
        elif len(self._buffer) < size and self._more:
            self._fetch(max(size, READ_BATCH))
        return self._buffer.take(size)

    def readinto(self, buffer) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def route_view_class(scope):
    """The view class a request's path resolves to (a function view's function), or None for no route."""
    path = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    try:
        match = get_resolver().resolve(path or "/")
    except Resolver404:
        return None
    return getattr(match.func, "view_class", match.func)


def caller_is_authenticated(scope) -> bool:
    """Whether the request's headers carry a valid session, token or API key (read before its body)."""
    from django.contrib.auth import get_user
    from django.core.handlers.asgi import ASGIRequest

    from aigc_platform.accounts.authentication import request_user

    request = ASGIRequest(scope, io.BytesIO())
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(
        request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    )
    request.user = get_user(request)
    return request_user(request) is not None


def _no_body(receive):
    """For a request whose body is not read: Django gets an empty body, and then nothing (it stops
    listening once its response is sent)."""
    handed_over = False

    async def receive_nothing():
        nonlocal handed_over
        if not handed_over:
            handed_over = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()

    return receive_nothing


class PlatformASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def handle(self, scope, receive, send):
        if not asgi_limits.sends_body(scope):
            return await super().handle(scope, receive, send)
        view_class = route_view_class(scope)
        if view_class is None:
            # No route: Django answers (404, or a redirect to the URL with a slash) without the body.
            return await super().handle(scope, _no_body(receive), send)
        limit = asgi_limits.route_body_limit(view_class)
        length = asgi_limits.declared_length(scope)
        if limit and length is not None and length > limit:
            return await asgi_limits.send_error(
                send, 413, "payload_too_large", asgi_limits.too_large_message(limit, length)
            )
        if (not limit or limit > settings.AIGC_MAX_REQUEST_BYTES) and not await sync_to_async(caller_is_authenticated)(
            scope
        ):
            return await asgi_limits.send_error(
                send, 401, "not_authenticated", "Authentication credentials were not provided."
            )
        try:
            return await self._handle_body(scope, asgi_limits.counted(receive, limit), send)
        except asgi_limits.BodyTooLarge as error:
            return await asgi_limits.send_error(
                send, 413, "payload_too_large", asgi_limits.too_large_message(error.limit)
            )

    async def _handle_body(self, scope, receive, send):
        if not streams_body(scope):
            return await super().handle(scope, receive, send)
        body = StreamedBody(receive, asyncio.get_running_loop())
        handed_over = False

        async def receive_for_django():
            # Django first reads "the body" (given as empty: the view streams the real one), then
            # listens for a disconnect, which may only ask the connection once the view has read it all.
            nonlocal handed_over
            if not handed_over:
                handed_over = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await body.consumed.wait()
            return await receive()

        return await super().handle({**scope, STREAMED_BODY: body}, receive_for_django, send)

    def create_request(self, scope, body_file):
        body = scope.get(STREAMED_BODY)
        if body is not None:
            body_file.close()
            body_file = body
        return super().create_request(scope, body_file)
