"""Contract of aigc_platform/core/asgi_handler.py: Django's ASGI handler still has the hooks the
adapter overrides, and a request still runs through the adapter's synchronous middleware chain: a page
that does not exist is answered 404 without its chunked body being read (the body never ends here)."""

import asyncio

from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler

from aigc_platform.core import asgi_handler as adapter
from tests.adapters.contract import holds, parameters


def test_the_hooks_the_adapter_overrides_are_still_djangos():
    with holds(adapter, "ASGIHandler's hooks"):
        assert parameters(BaseHandler.load_middleware) == ["self", "is_async"]
        assert parameters(ASGIHandler.create_request) == ["self", "scope", "body_file"]
        assert parameters(ASGIHandler.handle) == ["self", "scope", "receive", "send"]
        handler = adapter.PlatformASGIHandler()
        assert callable(handler._middleware_chain)


def test_a_request_runs_through_the_chain_and_an_unrouted_body_is_never_read(db):
    async def run():
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/no-such-page-here/",
            "raw_path": b"/no-such-page-here/",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked")],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }
        communicator = ApplicationCommunicator(adapter.PlatformASGIHandler(), scope)
        await communicator.send_input({"type": "http.request", "body": b"x" * 1024, "more_body": True})
        start = await communicator.receive_output(timeout=20)
        await communicator.receive_output(timeout=20)
        return start

    with holds(adapter, "a request through the handler"):
        start = asyncio.run(run())
    assert start["type"] == "http.response.start"
    assert start["status"] == 404
