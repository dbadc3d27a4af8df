"""Remote generators: a model served by an engine outside the platform that speaks OpenAI's API
(vLLM, SGLang, TGI, Ollama, a llama.cpp server, a hosted API), behind the same interface as a loaded
model (`stream`, `generate`, `batch`), so jobs, applications and evaluations use it unchanged.

What a request goes through, in order:
- the endpoint's circuit breaker: after REMOTE_GENERATOR_BREAKER_FAILURES failed tries in a row the
  endpoint fails at once for REMOTE_GENERATOR_BREAKER_SECONDS, then one request tries it again;
- its concurrency limit: a place among `max_concurrency` requests in flight, counted in Redis so it
  holds across every worker process;
- the call itself, streamed (server-sent events), retried with backoff on a refused connection, a
  timeout or a 5xx answer, as long as nothing was streamed yet. A redirect to another host is never
  followed (the key would go with it);
- for JSON output, the schema is sent as the endpoint supports it (`response_format`, `guided_json`,
  or only in the prompt), and the answer is validated against it; an answer that does not fit is
  asked for once more with the reason.

The breaker's state and the endpoint's last outcome live in Redis, so the generators page shows the
health every worker sees (`endpoint_health`). The API key travels in the Authorization header only:
it is in no log line, error message or result.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import httpx2
from django.conf import settings
from redis.exceptions import RedisError

from aigc_platform.core.errors import ApplicationError
from models_layer.runtime.backends import Backend, TextModel, register_backend
from models_layer.runtime.requests import Generation, TextRequest, TextResult
from models_layer.runtime.structured import schema_of, schema_validate

logger = logging.getLogger(__name__)

BACKEND_NAME = "openai-compatible"
# The first retry waits this long, each later one twice as long as the one before.
BACKOFF_SECONDS = 0.5
# Same-host redirects followed (307/308 only: they keep the method and the body).
MAX_REDIRECTS = 3
# How much of an error answer's body goes into the error message.
ERROR_SNIPPET = 300
# How often a request waiting for a place under the concurrency limit asks again.
SLOT_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RemoteConfig:
    """What a remote version needs to be called (built by the registry from its endpoint)."""

    endpoint_id: int
    base_url: str
    model: str
    api_key: str = field(repr=False)
    timeout: float = 60.0
    max_concurrency: int = 16
    structured_output: str = "json_schema"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc


class RemoteUnavailable(ApplicationError):
    status_code = 503
    code = "remote_unavailable"


class _Retryable(Exception):
    """A try that failed in a way worth trying again: no connection, no answer in time, or a 5xx."""

    def __init__(self, reason: str, *, no_answer: bool):
        super().__init__(reason)
        self.reason = reason
        self.no_answer = no_answer


# Health and the circuit breaker ---------------------------------------------------------------------


def _redis():
    """The shared Redis client of Django's cache (aigc_platform/core/cache.py), as the rate limits use it:
    what every worker process must see alike lives there."""
    from django.core.cache import cache

    return cache._cache.get_client(write=True)


def _health_key(endpoint_id: int) -> str:
    return f"aigc:remote-endpoint:{endpoint_id}"


def endpoint_health(endpoint_id: int) -> dict[str, Any]:
    """What the workers last saw of an endpoint: `state` is "unknown" (never called), "ok", "failing"
    (failed lately, breaker still closed), "open" (failing fast until `open_until`) or "probing"."""
    try:
        raw = {k.decode(): v.decode() for k, v in _redis().hgetall(_health_key(endpoint_id)).items()}
    except RedisError as error:
        return {"state": "unknown", "detail": f"Redis unreachable: {error}"}
    if not raw:
        return {"state": "unknown"}
    failures = int(raw.get("failures", 0))
    open_until = float(raw.get("open_until", 0) or 0)
    if open_until > time.time():
        state = "open"
    elif failures >= settings.REMOTE_GENERATOR_BREAKER_FAILURES:
        state = "probing"
    else:
        state = "failing" if failures else "ok"
    return {
        "state": state,
        "consecutive_failures": failures,
        "open_until": open_until or None,
        "last_ok_at": float(raw["last_ok_at"]) if raw.get("last_ok_at") else None,
        "last_seconds": float(raw["last_seconds"]) if raw.get("last_seconds") else None,
        "last_error": raw.get("last_error") or None,
        "last_error_at": float(raw["last_error_at"]) if raw.get("last_error_at") else None,
    }


def endpoint_health_reset(endpoint_id: int) -> None:
    """Forget what was seen (an admin changed the endpoint: its old failures say nothing of the new one)."""
    try:
        _redis().delete(_health_key(endpoint_id), f"{_health_key(endpoint_id)}:probe")
    except RedisError as error:
        logger.warning("Could not reset the health of remote endpoint %s: %s", endpoint_id, error)


def _breaker_check(config: RemoteConfig) -> None:
    """Raise at once while the endpoint's breaker is open; once it is due, let one request probe it."""
    try:
        failures, open_until = _redis().hmget(_health_key(config.endpoint_id), "failures", "open_until")
    except RedisError:
        return  # no shared state to read: call the endpoint rather than refuse every request
    failures = int(failures or 0)
    if failures < settings.REMOTE_GENERATOR_BREAKER_FAILURES:
        return
    wait = float(open_until or 0) - time.time()
    probe_key = f"{_health_key(config.endpoint_id)}:probe"
    if wait <= 0 and _redis().set(probe_key, "1", nx=True, px=int(config.timeout * 1000) + 1000):
        return
    raise RemoteUnavailable(
        f"The remote generator at {config.host} is unavailable: its last {failures} tries failed, so requests fail at once "
        f"for now (it is tried again {f'in {wait:.0f} s' if wait > 0 else 'by a request already on its way'})."
    )


def _record_success(config: RemoteConfig, seconds: float) -> None:
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hset(
            _health_key(config.endpoint_id),
            mapping={"failures": 0, "open_until": 0, "last_ok_at": time.time(), "last_seconds": round(seconds, 3)},
        )
        pipe.delete(f"{_health_key(config.endpoint_id)}:probe")
        pipe.execute()
    except RedisError as error:
        logger.warning("Could not record the health of remote endpoint %s: %s", config.endpoint_id, error)


def _record_failure(config: RemoteConfig, reason: str) -> None:
    key = _health_key(config.endpoint_id)
    try:
        failures = _redis().hincrby(key, "failures", 1)
        update = {"last_error": reason[:ERROR_SNIPPET], "last_error_at": time.time()}
        if failures >= settings.REMOTE_GENERATOR_BREAKER_FAILURES:
            update["open_until"] = time.time() + settings.REMOTE_GENERATOR_BREAKER_SECONDS
        pipe = _redis().pipeline(transaction=False)
        pipe.hset(key, mapping=update)
        pipe.delete(f"{key}:probe")
        pipe.execute()
    except RedisError as error:
        logger.warning("Could not record the health of remote endpoint %s: %s", config.endpoint_id, error)
    logger.warning("Remote generator at %s failed a try: %s", config.host, reason)


# The concurrency limit ---------------------------------------------------------------------------

# A sorted set of the requests in flight, scored by when their claim lapses (a worker that died
# mid-request frees its place then): drop lapsed claims; claim a place if one is free.
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


class _Slot:
    """A place among the endpoint's `max_concurrency` requests in flight, for the length of a call."""

    def __init__(self, config: RemoteConfig, generation: Generation):
        self.config = config
        self.generation = generation
        self.key = f"{_health_key(config.endpoint_id)}:slots"
        self.token = uuid.uuid4().hex
        self.lease = config.timeout * (settings.REMOTE_GENERATOR_RETRIES + 2) + 60
        self.renewed = 0.0
        self.held = False

    def _claim(self) -> bool:
        now = time.time()
        return bool(
            _redis().eval(
                _CLAIM,
                1,
                self.key,
                now,
                self.config.max_concurrency,
                now + self.lease,
                self.token,
                int(self.lease * 2000),
            )
        )

    def __enter__(self) -> Self:
        deadline = time.monotonic() + self.config.timeout
        try:
            while not self._claim():
                if time.monotonic() > deadline:
                    raise RemoteUnavailable(
                        f"The remote generator at {self.config.host} is busy: {self.config.max_concurrency} requests were "
                        f"in flight for {self.config.timeout:g} s.",
                        code="remote_busy",
                    )
                if self.generation.cancelled:
                    raise ApplicationError("Cancelled while waiting for the remote generator.", code="cancelled")
                time.sleep(SLOT_POLL_SECONDS)
        except RedisError as error:
            logger.warning("Concurrency limit of remote endpoint %s not applied: %s", self.config.endpoint_id, error)
            return self
        self.held = True
        self.renewed = time.monotonic()
        return self

    def renew(self) -> None:
        """Keep the claim while a long answer streams (called per piece; writes at most every half lease)."""
        if self.held and time.monotonic() - self.renewed > self.lease / 2:
            self.renewed = time.monotonic()
            try:
                _redis().zadd(self.key, {self.token: time.time() + self.lease})
            except RedisError:
                pass

    def __exit__(self, *exc) -> None:
        if self.held:
            try:
                _redis().zrem(self.key, self.token)
            except RedisError:
                pass


# A request in flight ----------------------------------------------------------------------------


_clients: dict[tuple, httpx2.Client] = {}
_clients_lock = threading.Lock()


def _client(config: RemoteConfig) -> httpx2.Client:
    """One pooled client per endpoint and process. It follows no redirect by itself (_Call does, on the same host only)."""
    key = (config.endpoint_id, config.base_url, config.timeout, config.max_concurrency)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = httpx2.Client(
                timeout=httpx2.Timeout(config.timeout, connect=min(config.timeout, 10.0)),
                limits=httpx2.Limits(
                    max_connections=config.max_concurrency, max_keepalive_connections=config.max_concurrency
                ),
                follow_redirects=False,
            )
            _clients[key] = client
        return client


class _Call:
    """One request to the endpoint: the body, the tries, and the streamed answer."""

    def __init__(self, config: RemoteConfig, request: TextRequest, generation: Generation):
        self.config = config
        self.request = request
        self.generation = generation
        self.schema = schema_of(request.response_format)
        self.streamed = False
        self.slot: _Slot | None = None

    def run(self) -> TextResult:
        started = time.perf_counter()
        with _Slot(self.config, self.generation) as slot:
            self.slot = slot
            text, finish_reason, usage, pieces = self._tries(self._body(), stream=True)
            value = None
            if self.schema is not None and finish_reason != "cancelled":
                value, text, usage, pieces = self._structured(text, usage, pieces)
        return TextResult(
            text=text,
            finish_reason=finish_reason,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or pieces),
            seed=int(self.request.seed),
            seconds=time.perf_counter() - started,
            json=value,
        )

    # The request body ---------------------------------------------------------------------------

    def _messages(self) -> list[dict[str, str]] | None:
        messages = [dict(m) for m in self.request.messages] if self.request.messages is not None else None
        if self.schema is not None and self.config.structured_output == "none" and messages is not None:
            messages.insert(0, {"role": "system", "content": _schema_instruction(self.schema)})
        return messages

    def _body(self) -> dict[str, Any]:
        request = self.request
        body: dict[str, Any] = {
            "model": self.config.model,
            "max_tokens": request.max_new_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": int(request.seed),
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.presence_penalty:
            body["presence_penalty"] = request.presence_penalty
        if request.frequency_penalty:
            body["frequency_penalty"] = request.frequency_penalty
        messages = self._messages()
        if messages is not None:
            body["messages"] = messages
        else:
            prompt = request.prompt or ""
            if self.schema is not None and self.config.structured_output == "none":
                prompt = f"{_schema_instruction(self.schema)}\n\n{prompt}"
            body["prompt"] = prompt
        if self.schema is not None:
            if self.config.structured_output == "json_schema":
                if (request.response_format or {}).get("type") == "json_object":
                    body["response_format"] = {"type": "json_object"}
                else:
                    name = ((request.response_format or {}).get("json_schema") or {}).get("name") or "answer"
                    body["response_format"] = {
                        "type": "json_schema",
                        "json_schema": {"name": name, "schema": self.schema},
                    }
            elif self.config.structured_output == "guided_json":
                body["guided_json"] = self.schema
        return body

    @property
    def _path(self) -> str:
        return "chat/completions" if self.request.messages is not None else "completions"

    # Tries ----------------------------------------------------------------------------------------

    def _tries(self, body: dict[str, Any], *, stream: bool) -> tuple[str, str, dict, int]:
        tries = settings.REMOTE_GENERATOR_RETRIES + 1
        last: _Retryable | None = None
        for attempt in range(tries):
            _breaker_check(self.config)
            started = time.perf_counter()
            try:
                answer = self._once(body, stream=stream)
            except _Retryable as error:
                _record_failure(self.config, error.reason)
                last = error
                if self.streamed:
                    raise ApplicationError(
                        f"The remote generator at {self.config.host} stopped in the middle of its answer: {error.reason}.",
                        code="remote_failed",
                    ) from None
                if attempt + 1 < tries:
                    self._pause(BACKOFF_SECONDS * 2**attempt)
                continue
            _record_success(self.config, time.perf_counter() - started)
            return answer
        if last.no_answer:
            raise RemoteUnavailable(
                f"The remote generator at {self.config.host} gave no answer in {self.config.timeout:g} s "
                f"({last.reason}; {tries} tries).",
                code="remote_no_answer",
            )
        raise RemoteUnavailable(
            f"The remote generator at {self.config.host} failed: {last.reason} ({tries} tries).", code="remote_failed"
        )

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.generation.cancelled:
                raise ApplicationError("Cancelled while waiting to try the remote generator again.", code="cancelled")
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))

    def _once(self, body: dict[str, Any], *, stream: bool) -> tuple[str, str, dict, int]:
        url = urljoin(self.config.base_url.rstrip("/") + "/", self._path)
        headers = {"Accept": "text/event-stream, application/json" if stream else "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        payload = (
            {**body, "stream": True, "stream_options": {"include_usage": True}} if stream else {**body, "stream": False}
        )
        try:
            for _ in range(MAX_REDIRECTS + 1):
                with _client(self.config).stream("POST", url, json=payload, headers=headers) as response:
                    if response.is_redirect:
                        url = self._redirect_target(url, response)
                        continue
                    if response.status_code >= 500:
                        raise _Retryable(f"HTTP {response.status_code}: {self._snippet(response)}", no_answer=False)
                    if response.status_code >= 400:
                        raise self._refused(response)
                    if "text/event-stream" in response.headers.get("content-type", ""):
                        return self._read_stream(response)
                    return self._read_whole(response)
            raise ApplicationError(
                f"The remote generator at {self.config.host} redirected more than {MAX_REDIRECTS} times.",
                code="remote_redirects",
            )
        except httpx2.ConnectError as error:
            raise _Retryable(f"connection failed: {_reason(error)}", no_answer=True) from None
        except httpx2.TimeoutException:
            raise _Retryable(f"no answer within {self.config.timeout:g} s", no_answer=True) from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError) as error:
            raise _Retryable(f"the connection broke: {_reason(error)}", no_answer=True) from None

    def _redirect_target(self, url: str, response: httpx2.Response) -> str:
        target = urljoin(url, response.headers.get("location", ""))
        here, there = urlsplit(url), urlsplit(target)
        if (there.scheme, there.netloc) != (here.scheme, here.netloc):
            raise ApplicationError(
                f"The remote generator at {self.config.host} redirected to {there.netloc or target}; redirects to another "
                "host are not followed (the API key would go with them). Register the endpoint's own URL.",
                code="remote_redirect_refused",
            )
        if response.status_code not in (307, 308):
            raise ApplicationError(
                f"The remote generator at {self.config.host} answered HTTP {response.status_code} to {there.path}, a redirect "
                "that turns the request into a GET; register the URL it points to.",
                code="remote_redirect_refused",
            )
        return target

    def _snippet(self, response: httpx2.Response) -> str:
        """The start of an error answer, with the key blanked out should the engine echo it back."""
        text = _snippet(response)
        return text.replace(self.config.api_key, "***") if self.config.api_key else text

    def _refused(self, response: httpx2.Response) -> ApplicationError:
        detail = self._snippet(response)
        if response.status_code in (401, 403):
            return ApplicationError(
                f"The remote generator at {self.config.host} refused the API key (HTTP "
                f"{response.status_code}): {detail}",
                code="remote_unauthorized",
            )
        if response.status_code == 404:
            return ApplicationError(
                f"The remote generator at {self.config.host} does not know model {self.config.model!r} or "
                f"path /{self._path} (HTTP 404): {detail}",
                code="remote_not_found",
            )
        return ApplicationError(
            f"The remote generator at {self.config.host} refused the request (HTTP {response.status_code}): {detail}",
            code="remote_refused",
        )

    def _emit(self, piece: str) -> None:
        if piece:
            self.streamed = True
            self.generation._events.put(("text", piece))
            if self.slot is not None:
                self.slot.renew()

    def _read_stream(self, response: httpx2.Response) -> tuple[str, str, dict, int]:
        parts: list[str] = []
        finish_reason, usage, pieces = "stop", {}, 0
        for line in response.iter_lines():
            if self.generation.cancelled:
                return "".join(parts), "cancelled", usage, pieces
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                raise _Retryable(f"a streamed piece was not JSON: {data[:80]!r}", no_answer=False) from None
            if chunk.get("error"):
                message = (
                    _error_message(chunk).replace(self.config.api_key, "***")
                    if self.config.api_key
                    else _error_message(chunk)
                )
                raise ApplicationError(
                    f"The remote generator at {self.config.host} failed mid-answer: {message}", code="remote_failed"
                )
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
                if piece:
                    pieces += 1
                    parts.append(piece)
                    self._emit(piece)
                finish_reason = choice.get("finish_reason") or finish_reason
        return "".join(parts), finish_reason, usage, pieces

    def _read_whole(self, response: httpx2.Response) -> tuple[str, str, dict, int]:
        try:
            answer = json.loads(response.read())
            choice = answer["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise _Retryable(
                f"the answer was not an OpenAI completion: {self._snippet(response)}", no_answer=False
            ) from None
        text = (choice.get("message") or {}).get("content") or choice.get("text") or ""
        if "text/event-stream" in response.request.headers.get("accept", ""):  # asked to stream, answered whole
            self._emit(text)
        return text, choice.get("finish_reason") or "stop", answer.get("usage") or {}, 1 if text else 0

    # Structured output ---------------------------------------------------------------------------

    def _structured(self, text: str, usage: dict, pieces: int) -> tuple[Any, str, dict, int]:
        """The JSON value of the answer, checked against the schema; one more request, told what was
        wrong, when it does not parse or fit."""
        value, problem = _parse_json(text, self.schema)
        if problem is None:
            return value, json.dumps(value, ensure_ascii=False), usage, pieces
        logger.info("Remote answer from %s did not fit its schema (%s); asking once more", self.config.host, problem)
        body = self._body()
        retry_note = f"Your answer was not valid: {problem}. Answer again with only the JSON value."
        if "messages" in body:
            body["messages"] = [
                *body["messages"],
                {"role": "assistant", "content": text},
                {"role": "user", "content": retry_note},
            ]
        else:
            body["prompt"] = f"{body['prompt']}{text}\n\n{retry_note}\n"
        repaired, _, more_usage, more_pieces = self._tries(body, stream=False)
        total = {  # both requests count (an engine that reports no usage: its pieces)
            "prompt_tokens": int(usage.get("prompt_tokens") or 0) + int(more_usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or pieces)
            + int(more_usage.get("completion_tokens") or more_pieces),
        }
        value, problem = _parse_json(repaired, self.schema)
        if problem is not None:
            raise ApplicationError(
                f"The remote generator's answer is not JSON that fits the schema, even when asked again: {problem}.",
                code="incomplete_json",
            )
        return value, json.dumps(value, ensure_ascii=False), total, pieces + more_pieces


def _schema_instruction(schema: dict) -> str:
    return f"Answer with a single JSON value and nothing else. It must match this JSON schema: {json.dumps(schema)}"


def _parse_json(text: str, schema: dict) -> tuple[Any, str | None]:
    """(value, None) when `text` holds JSON that fits `schema`, else (None, what is wrong). Text around
    the value (a code fence, a sentence before it) is tolerated."""
    candidate = text.strip()
    if candidate.startswith("```"):
        candidate = candidate.split("\n", 1)[-1].rsplit("```", 1)[0]
    try:
        value = json.loads(candidate)
    except ValueError:
        starts = [i for i in (candidate.find("{"), candidate.find("[")) if i >= 0]
        ends = [i for i in (candidate.rfind("}"), candidate.rfind("]")) if i >= 0]
        if not starts or not ends:
            return None, "it is not JSON"
        try:
            value = json.loads(candidate[min(starts) : max(ends) + 1])
        except ValueError as error:
            return None, f"it is not JSON ({error})"
    problem = schema_validate(value, schema)
    return (value, None) if problem is None else (None, problem)


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return "connection refused" if "refused" in text.lower() else text[:ERROR_SNIPPET]


def _snippet(response: httpx2.Response) -> str:
    try:
        body = response.read()
    except httpx2.HTTPError:
        return "(no body)"
    try:
        return _error_message(json.loads(body))[:ERROR_SNIPPET]
    except (ValueError, AttributeError, TypeError):
        return body[:ERROR_SNIPPET].decode(errors="replace").strip() or "(no body)"


def _error_message(answer: dict) -> str:
    error = answer.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or answer.get("message") or answer.get("detail") or answer)


# The model and its backend ------------------------------------------------------------------------


class RemoteTextModel(TextModel):
    """A remote version as a text model: each request is a call of its own, from a thread of its own."""

    def __init__(self, config: RemoteConfig):
        self.config = config
        self.memory_bytes = 0

    def stream(self, request: TextRequest) -> Generation:
        generation = Generation()

        def call() -> None:
            try:
                generation._events.put(("done", _Call(self.config, request, generation).run()))
            except Exception as error:  # noqa: BLE001 (every failure reaches the caller, as the engine's do)
                generation._events.put(("error", error))

        threading.Thread(target=call, name=f"remote-{self.config.host}", daemon=True).start()
        return generation

    def close(self) -> None:
        """Nothing is held beyond the pooled connections, which later requests reuse."""


class OpenAICompatibleBackend(Backend):
    name = BACKEND_NAME
    formats = ("remote",)

    def connect(self, config: RemoteConfig) -> RemoteTextModel:
        return RemoteTextModel(config)

    def load(self, **kwargs) -> RemoteTextModel:
        raise ApplicationError(
            "A remote version has no weights to load; it is connected to its endpoint (load_version)."
        )


register_backend(OpenAICompatibleBackend())
