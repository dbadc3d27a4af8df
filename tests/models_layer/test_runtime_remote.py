"""The remote backend's handling of what a real engine does now and then: a 5xx answer before a good
one (retried with backoff), an answer that is not the JSON asked for (asked again, then checked), and
an error answer that echoes the key (blanked). The engine here is a small HTTP server on a free port,
playing back what vLLM, a llama.cpp server or a hosted API send in those cases; the happy paths run
against a real second platform in test_remote_generators.py."""

import http.server
import json
import threading
import time
import uuid

import pytest

from models_layer.runtime.remote import RemoteConfig, RemoteTextModel, endpoint_health
from models_layer.runtime.requests import TextRequest

ASK = [{"role": "user", "content": "Name a colour."}]
SCHEMA = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}


class Engine:
    """An OpenAI-style HTTP server that plays `answers` in order, one per request, and records the bodies."""

    def __init__(self, answers: list[tuple[int, str, str]]):
        self.answers = list(answers)
        self.bodies: list[dict] = []
        self.times: list[float] = []
        engine = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                engine.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                engine.times.append(time.monotonic())
                status, content_type, body = engine.answers.pop(0)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.config = RemoteConfig(
            endpoint_id=int(uuid.uuid4().int % 10**9),
            base_url=f"http://127.0.0.1:{self.server.server_port}/v1",
            model="m",
            api_key="sk-secret-key-0123456789",
            timeout=5,
            structured_output="none",
        )

    def close(self):
        self.server.shutdown()


def sse(*pieces: str, usage: dict | None = None) -> tuple[int, str, str]:
    chunks = [{"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]} for piece in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage:
        chunks.append({"choices": [], "usage": usage})
    return 200, "text/event-stream", "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def whole(text: str) -> tuple[int, str, str]:
    return (
        200,
        "application/json",
        json.dumps(
            {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 4},
            }
        ),
    )


@pytest.fixture
def engine():
    made = []

    def make(answers):
        made.append(Engine(answers))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_5xx_answers_are_retried_with_backoff_and_the_stream_then_flows(engine):
    remote = engine(
        [(503, "application/json", '{"error": {"message": "overloaded"}}')] * 2
        + [sse("Blue", " sky", usage={"prompt_tokens": 7, "completion_tokens": 2})]
    )
    generation = RemoteTextModel(remote.config).stream(TextRequest(messages=ASK, max_new_tokens=8, seed=3))
    pieces = [piece for piece in generation if piece]
    result = generation.result
    assert (
        pieces == ["Blue", " sky"]
        and result.text == "Blue sky"
        and result.completion_tokens == 2
        and result.prompt_tokens == 7
    )
    assert len(remote.bodies) == 3 and remote.bodies[0]["seed"] == 3 and remote.bodies[0]["stream"] is True
    waits = [later - earlier for earlier, later in zip(remote.times, remote.times[1:])]
    assert waits[0] >= 0.45 and waits[1] >= 0.95  # backoff 0.5 s, then 1 s
    assert endpoint_health(remote.config.endpoint_id)["state"] == "ok"


def test_an_answer_that_does_not_fit_the_schema_is_asked_for_again_with_the_reason(engine):
    # An engine without structured output (structured_output "none") first answers with prose around bad JSON
    remote = engine([sse('Sure! {"color": "blue"}'), whole('```json\n{"colour": "blue"}\n```')])
    result = RemoteTextModel(remote.config).generate(
        TextRequest(
            messages=ASK,
            max_new_tokens=30,
            seed=1,
            response_format={"type": "json_schema", "json_schema": {"schema": SCHEMA}},
        )
    )
    assert result.json == {"colour": "blue"} and json.loads(result.text) == {"colour": "blue"}
    first, again = remote.bodies
    assert "response_format" not in first and "JSON schema" in first["messages"][0]["content"]
    assert (
        again["messages"][-1]["role"] == "user"
        and "'colour' is a required property" in again["messages"][-1]["content"]
    )
    assert result.completion_tokens == 1 + 4  # one streamed piece, then the repair's reported usage


def test_an_error_that_echoes_the_key_is_reported_without_it(engine):
    remote = engine(
        [(401, "application/json", '{"error": {"message": "Incorrect API key provided: sk-secret-key-0123456789"}}')]
    )
    with pytest.raises(Exception) as refused:
        RemoteTextModel(remote.config).generate(TextRequest(messages=ASK, max_new_tokens=4, seed=1))
    assert "refused the API key (HTTP 401)" in str(refused.value)
    assert "sk-secret-key-0123456789" not in str(refused.value) and "***" in str(refused.value)
