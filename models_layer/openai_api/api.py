"""The OpenAI-compatible API: `GET /v1/models`, `POST /v1/chat/completions`, `POST /v1/completions`,
in OpenAI's wire format (streamed as `data: {chunk}` lines ending with `data: [DONE]`, or whole),
with OpenAI's error object. Each answer is a `generate` job, as through the generate API."""

import json
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from aigc_platform.accounts.authentication import ApiKeyAuthentication
from aigc_platform.accounts.selectors import request_api_key_prefix
from aigc_platform.core.errors import ApplicationError, api_exception_handler
from infrastructure.compute.models import JobStatus
from models_layer.openai_api import selectors, services
from models_layer.openai_api.authentication import BearerAuthentication
from models_layer.openai_api.serializers import ChatCompletionRequest, CompletionRequest, sampling_params, seed_for

logger = logging.getLogger(__name__)

# How long a whole (not streamed) answer is waited for; past it the request's jobs are cancelled.
WAIT_MAX_SECONDS = 600

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    503: "server_error",
    504: "server_error",
}
_ERROR_CODES = {
    "authentication_failed": "invalid_api_key",
    "not_authenticated": "invalid_api_key",
    "rate_limited": "rate_limit_exceeded",
    "quota_exceeded": "insufficient_quota",
    "content_blocked": "content_policy_violation",
}


def openai_error(status: int, message: str, *, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    kind = "insufficient_quota" if code == "insufficient_quota" else _ERROR_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def openai_exception_handler(exc, context):
    """The platform's error (api_exception_handler), in OpenAI's error object."""
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    error = (response.data or {}).get("error", {})
    fields = error.get("fields") or {}
    param = next(iter(fields), None)
    message = error.get("message", "")
    if fields:
        message += " " + "; ".join(
            f"{name}: {' '.join(map(str, problems if isinstance(problems, list) else [problems]))}"
            for name, problems in fields.items()
        )
    code = _ERROR_CODES.get(error.get("code"), error.get("code"))
    response.data = openai_error(response.status_code, message.strip(), code=code, param=param)
    return response


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """JSON whatever the Accept header says: clients that stream send `Accept: text/event-stream`, and a
    streamed answer is not rendered by DRF at all (OpenAI's API does not refuse on Accept either)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OpenAIApiView(APIView):
    authentication_classes = [BearerAuthentication, TokenAuthentication, ApiKeyAuthentication, SessionAuthentication]
    content_negotiation_class = AnyAcceptNegotiation

    def get_exception_handler(self):
        return openai_exception_handler


_ERROR_SCHEMA = inline_serializer(
    "OpenAIError",
    {
        "error": inline_serializer(
            "OpenAIErrorBody",
            {
                "message": serializers.CharField(),
                "type": serializers.CharField(),
                "param": serializers.CharField(allow_null=True),
                "code": serializers.CharField(allow_null=True),
            },
        )
    },
)
_MODEL_FIELDS = {
    "id": serializers.CharField(),
    "object": serializers.CharField(),
    "created": serializers.IntegerField(),
    "owned_by": serializers.CharField(),
}
_MODEL_SCHEMA = inline_serializer("OpenAIModel", _MODEL_FIELDS)
_USAGE_SCHEMA = inline_serializer(
    "OpenAIUsage",
    {
        "prompt_tokens": serializers.IntegerField(),
        "completion_tokens": serializers.IntegerField(),
        "total_tokens": serializers.IntegerField(),
    },
)
_CHAT_SCHEMA = inline_serializer(
    "ChatCompletion",
    {
        "id": serializers.CharField(),
        "object": serializers.CharField(),
        "created": serializers.IntegerField(),
        "model": serializers.CharField(),
        "system_fingerprint": serializers.CharField(),
        "choices": inline_serializer(
            "ChatCompletionChoice",
            {
                "index": serializers.IntegerField(),
                "finish_reason": serializers.CharField(),
                "message": inline_serializer(
                    "ChatCompletionMessage", {"role": serializers.CharField(), "content": serializers.CharField()}
                ),
            },
            many=True,
        ),
        "usage": _USAGE_SCHEMA,
    },
)
_COMPLETION_SCHEMA = inline_serializer(
    "TextCompletion",
    {
        "id": serializers.CharField(),
        "object": serializers.CharField(),
        "created": serializers.IntegerField(),
        "model": serializers.CharField(),
        "system_fingerprint": serializers.CharField(),
        "choices": inline_serializer(
            "TextCompletionChoice",
            {
                "index": serializers.IntegerField(),
                "finish_reason": serializers.CharField(),
                "text": serializers.CharField(),
            },
            many=True,
        ),
        "usage": _USAGE_SCHEMA,
    },
)
_ERRORS = {status: OpenApiResponse(_ERROR_SCHEMA) for status in (400, 401, 404, 429, 500)}
_STREAM_HELP = (
    "With `stream: true` the answer is `text/event-stream`: one `data: {chunk}` line per piece of text "
    "(`chat.completion.chunk` / `text_completion` objects), a usage chunk when `stream_options.include_usage`, "
    "then `data: [DONE]`. Moderation: a blocked prompt or message is a 400 with code `content_policy_violation`; "
    "an answer a policy blocks ends with finish_reason `content_filter` and holds only the text that passed "
    "before it. Streamed text is checked before it is sent: the last 64 characters are held back until the "
    "text so far passes (with a classifier policy on outputs, the whole answer comes at its end)."
)


class ModelListApi(OpenAIApiView):
    @extend_schema(
        operation_id="openai_models_list",
        responses={
            200: inline_serializer(
                "OpenAIModelList",
                {
                    "object": serializers.CharField(),
                    "data": inline_serializer("OpenAIModelListItem", _MODEL_FIELDS, many=True),
                },
            ),
            401: _ERRORS[401],
        },
    )
    def get(self, request):
        """The text generators the caller may use: `slug` (its production version) and `slug:version`."""
        return Response({"object": "list", "data": selectors.models_visible_to(user=request.user)})


class ModelDetailApi(OpenAIApiView):
    @extend_schema(operation_id="openai_model_retrieve", responses={200: _MODEL_SCHEMA, 404: _ERRORS[404]})
    def get(self, request, model):
        found = next((m for m in selectors.models_visible_to(user=request.user) if m["id"] == model), None)
        if found is None:
            raise services.ModelNotFound(f"The model {model!r} does not exist or you do not have access to it.")
        return Response(found)


def _finish_reason(reason: str | None) -> str:
    return reason if reason in ("stop", "length", "content_filter") else "stop"


def _usage(results: list[dict], prompts: int) -> dict[str, int]:
    """OpenAI counts a prompt once however many answers it asked for."""
    prompt_tokens = sum(r["usage"]["prompt_tokens"] for r in results[:: max(1, len(results) // prompts)][:prompts])
    completion_tokens = sum(r["usage"]["completion_tokens"] for r in results)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


class _CompletionsApi(OpenAIApiView):
    request_serializer: type
    object_name: str  # of the whole answer
    chunk_name: str
    id_prefix: str

    def requests_of(self, data: dict) -> tuple[list[dict[str, Any]], int]:
        """The generate API's parameters of each answer asked for, and how many prompts they answer."""
        raise NotImplementedError

    def choice(self, index: int, result: dict) -> dict[str, Any]:
        raise NotImplementedError

    def delta(
        self, index: int, text: str | None, finish_reason: str | None, *, first: bool = False
    ) -> dict[str, Any] | None:
        raise NotImplementedError

    def post(self, request):
        serializer = self.request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        requests, prompts = self.requests_of(data)
        submitted = services.completions_submit(
            user=request.user, model=data["model"], requests=requests, api_key_prefix=request_api_key_prefix(request)
        )
        head = {
            "id": f"{self.id_prefix}-{submitted.jobs[0].pk.hex}",
            "created": int(time.time()),
            "model": data["model"],
            "system_fingerprint": submitted.fingerprint,
        }
        if data.get("stream"):
            include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
            response = StreamingHttpResponse(
                self.stream(submitted, head, prompts, include_usage), content_type="text/event-stream"
            )
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        jobs = selectors.jobs_wait(jobs=submitted.jobs, timeout=WAIT_MAX_SECONDS)
        unfinished = [
            job for job in jobs if job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
        ]
        if unfinished:
            services.completions_abandon(jobs=unfinished)
            return Response(
                openai_error(
                    504,
                    f"The answer took longer than {WAIT_MAX_SECONDS} s; ask with stream: true for a long answer.",
                    code="timeout",
                ),
                status=504,
            )
        failed = next((job for job in jobs if job.status != JobStatus.SUCCEEDED), None)
        if failed is not None:
            return Response(
                openai_error(500, failed.error or f"The generation was {failed.status}.", code="generation_failed"),
                status=500,
            )
        results = [job.result for job in jobs]
        return Response(
            {
                **head,
                "object": self.object_name,
                "choices": [self.choice(index, result) for index, result in enumerate(results)],
                "usage": _usage(results, prompts),
            }
        )

    async def stream(self, submitted: services.Submitted, head: dict, prompts: int, include_usage: bool):
        def line(payload: dict) -> str:
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        chunk_head = {**head, "object": self.chunk_name}
        extra = {"usage": None} if include_usage else {}
        results: list[dict | None] = [None] * len(submitted.jobs)
        ended = False
        try:
            for index in range(len(submitted.jobs)):
                opening = self.delta(index, "", None, first=True)
                if opening is not None:
                    yield line({**chunk_head, "choices": [opening], **extra})
            async for index, kind, data in selectors.jobs_follow(jobs=submitted.jobs):
                if kind == "token" and data.get("text"):
                    yield line({**chunk_head, "choices": [self.delta(index, data["text"], None)], **extra})
                elif kind == "end":
                    if data["status"] != JobStatus.SUCCEEDED:
                        ended = True
                        yield line(
                            openai_error(
                                500, data["error"] or f"The generation was {data['status']}.", code="generation_failed"
                            )
                        )
                        await sync_to_async(services.completions_abandon)(jobs=submitted.jobs)
                        return
                    results[index] = data["result"]
                    yield line(
                        {
                            **chunk_head,
                            "choices": [self.delta(index, None, _finish_reason(data["result"]["finish_reason"]))],
                            **extra,
                        }
                    )
            ended = True
            if include_usage:
                yield line({**chunk_head, "choices": [], "usage": _usage(results, prompts)})
            yield "data: [DONE]\n\n"
        finally:
            if not ended:  # the caller went away mid-answer: stop generating what no one will read
                await sync_to_async(services.completions_abandon)(jobs=submitted.jobs)


class ChatCompletionsApi(_CompletionsApi):
    request_serializer = ChatCompletionRequest
    object_name = "chat.completion"
    chunk_name = "chat.completion.chunk"
    id_prefix = "chatcmpl"

    @extend_schema(
        operation_id="openai_chat_completions_create",
        request=ChatCompletionRequest,
        responses={200: _CHAT_SCHEMA, **_ERRORS},
        description=_STREAM_HELP,
    )
    def post(self, request):
        """OpenAI's chat completions: the generator's chat template applies."""
        return super().post(request)

    def requests_of(self, data):
        messages = [
            {"role": "system" if m["role"] == "developer" else m["role"], "content": m["content"]}
            for m in data["messages"]
        ]
        params = {**sampling_params(data), "messages": messages}
        return [{**params, "seed": seed_for(data, choice)} for choice in range(data.get("n") or 1)], 1

    def choice(self, index, result):
        return {
            "index": index,
            "message": {"role": "assistant", "content": result["text"], "refusal": None},
            "logprobs": None,
            "finish_reason": _finish_reason(result["finish_reason"]),
        }

    def delta(self, index, text, finish_reason, *, first=False):
        delta = {"role": "assistant", "content": ""} if first else ({"content": text} if text is not None else {})
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


class CompletionsApi(_CompletionsApi):
    request_serializer = CompletionRequest
    object_name = "text_completion"
    chunk_name = "text_completion"
    id_prefix = "cmpl"

    @extend_schema(
        operation_id="openai_completions_create",
        request=CompletionRequest,
        responses={200: _COMPLETION_SCHEMA, **_ERRORS},
        description=_STREAM_HELP,
    )
    def post(self, request):
        """OpenAI's (legacy) completions: the prompt is continued as written, without a chat template."""
        return super().post(request)

    def requests_of(self, data):
        n = data.get("n") or 1
        requests = [
            {**sampling_params(data), "prompt": prompt, "seed": seed_for(data, choice)}
            for prompt in data["prompt"]
            for choice in range(n)
        ]
        if len(requests) > 16:
            raise ApplicationError(
                "At most 16 answers per request (prompts times n).", fields={"n": ["Too many answers."]}
            )
        return requests, len(data["prompt"])

    def choice(self, index, result):
        return {
            "index": index,
            "text": result["text"],
            "logprobs": None,
            "finish_reason": _finish_reason(result["finish_reason"]),
        }

    def delta(self, index, text, finish_reason, *, first=False):
        if first:  # a completion's stream has no opening chunk (a chat's names the role)
            return None
        return {"index": index, "text": text or "", "logprobs": None, "finish_reason": finish_reason}
