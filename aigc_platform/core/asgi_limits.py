"""Limits on a request's size, enforced before Django reads its body: the ASGI handler spools a whole
body to disk before any view runs, so an over-limit upload is refused here from its Content-Length
(413) instead of after gigabytes were written, and oversized headers are refused (431). Both answer
in the API's JSON error shape."""
import json

from django.conf import settings


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class RequestLimits:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            refusal = self.refusal(scope["headers"])
            if refusal is not None:
                status, body = refusal
                await send({"type": "http.response.start", "status": status, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes] | None:
        header_bytes = sum(len(name) + len(value) + 4 for name, value in headers)
        if settings.AIGC_MAX_HEADER_BYTES and header_bytes > settings.AIGC_MAX_HEADER_BYTES:
            return 431, _error("headers_too_large", f"The request headers are {header_bytes:,} bytes; the most accepted is "
                                                   f"{settings.AIGC_MAX_HEADER_BYTES:,} bytes.")
        for name, value in headers:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return 400, _error("malformed_request", "Content-Length is not a number.")
                if settings.AIGC_MAX_REQUEST_BYTES and length > settings.AIGC_MAX_REQUEST_BYTES:
                    return 413, _error("payload_too_large", f"The request body is {length:,} bytes; the most accepted is "
                                                            f"{settings.AIGC_MAX_REQUEST_BYTES:,} bytes.")
        return None
