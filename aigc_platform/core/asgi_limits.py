"""Limits on a request's size, enforced before Django reads its body (issue 21, finding 4).

- Headers over AIGC_MAX_HEADER_BYTES are refused (431) by `RequestLimits`, before anything else.
- A body is limited per route: a view that takes uploads says how large one may be
  (`request_body_limit`, a classmethod); every other route takes AIGC_MAX_REQUEST_BYTES, which is
  small. An over-limit Content-Length is refused (413) from the headers alone; a body sent without
  one (chunked) is counted as it arrives and cut off at the limit (413). The handler
  (aigc_platform/core/asgi_handler.py) applies them once it has routed the request.

Every refusal answers in the API's JSON error shape and closes the connection.
"""

import json

from django.conf import settings


class BodyTooLarge(Exception):
    """A body sent without a declared length went past its route's limit."""

    def __init__(self, limit: int):
        super().__init__(f"over {limit} bytes")
        self.limit = limit


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def send_error(send, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def too_large_message(limit: int, length: int | None = None) -> str:
    sent = f"The request body is {length:,} bytes" if length is not None else "The request body is larger than allowed"
    return f"{sent}; this URL accepts at most {limit:,} bytes."


def route_body_limit(view_class) -> int:
    """The most body bytes a route takes (0: no limit): its view's own upload limit, or the small default."""
    own = getattr(view_class, "request_body_limit", None)
    return own() if callable(own) else settings.AIGC_MAX_REQUEST_BYTES


def declared_length(scope) -> int | None:
    """The Content-Length of a request, or None when it declares none (chunked, or no body)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value)  # RequestLimits has already refused one that is not a number
    return None


def sends_body(scope) -> bool:
    """Whether a request comes with a body: a positive Content-Length, or a chunked one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


def counted(receive, limit: int):
    """`receive`, raising BodyTooLarge once the body's bytes go past `limit` (0: no limit)."""
    received = 0

    async def receive_counted():
        nonlocal received
        message = await receive()
        if limit and message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_counted


class RequestLimits:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            refusal = self.refusal(scope["headers"])
            if refusal is not None:
                await send_error(send, *refusal)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(headers: list[tuple[bytes, bytes]]) -> tuple[int, str, str] | None:
        header_bytes = sum(len(name) + len(value) + 4 for name, value in headers)
        if settings.AIGC_MAX_HEADER_BYTES and header_bytes > settings.AIGC_MAX_HEADER_BYTES:
            return (
                431,
                "headers_too_large",
                (
                    f"The request headers are {header_bytes:,} bytes; the most accepted is "
                    f"{settings.AIGC_MAX_HEADER_BYTES:,} bytes."
                ),
            )
        for name, value in headers:
            if name == b"content-length":
                try:
                    if int(value) < 0:
                        raise ValueError
                except ValueError:
                    return 400, "malformed_request", "Content-Length is not a number."
        return None
