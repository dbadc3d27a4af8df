"""The OpenAI-compatible API at /v1/, through the official `openai` client, against a live web server
and the threads-pool inference worker, with the built-in SmolLM2 (answers kept short for 2 cores)."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token

from aigc_platform.accounts.services import api_key_create
from infrastructure.compute.models import Job
from infrastructure.usage.models import DailyUsage
from infrastructure.usage.services import usage_tokens_record
from models_layer.registry import services

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "smollm2-135m-instruct"
ASK = [{"role": "user", "content": "Name a colour."}]


@pytest.fixture
def builtin_live(transactional_db):
    return services.generators_bootstrap()


@pytest.fixture
def api_key(creator):
    return api_key_create(owner=creator, name="openai client").raw_key


def test_models_lists_the_generators_and_their_versions(builtin_live, api_key, web):
    client = openai.OpenAI(base_url=f"{web}/v1", api_key=api_key)
    ids = [model.id for model in client.models.list()]
    assert MODEL in ids and f"{MODEL}:1" in ids
    assert client.models.retrieve(f"{MODEL}:1").owned_by == "aigc-platform"


def test_chat_completion_whole_and_streamed_with_seed_n_and_usage(
    builtin_live, creator, api_key, web, inference_worker
):
    client = openai.OpenAI(base_url=f"{web}/v1", api_key=api_key, max_retries=0, timeout=120)
    jobs_before = Job.objects.filter(owner=creator, kind="generate").count()
    # When a creator asks for two answers with a seed
    answer = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, temperature=0.9, seed=5, n=2)
    # then both come back, in OpenAI's shape, each as a generate job of its own
    assert answer.object == "chat.completion" and answer.model == MODEL and len(answer.choices) == 2
    assert [choice.index for choice in answer.choices] == [0, 1]
    assert all(choice.message.role == "assistant" and choice.message.content for choice in answer.choices)
    assert all(choice.finish_reason in ("stop", "length") for choice in answer.choices)
    assert answer.system_fingerprint == f"{MODEL}-v1"
    assert 2 <= answer.usage.completion_tokens <= 16 and answer.usage.prompt_tokens > 5
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    assert Job.objects.filter(owner=creator, kind="generate").count() == jobs_before + 2
    # and the tokens were counted against the API key, as on the generate API
    counted = DailyUsage.objects.filter(user=creator).exclude(api_key_prefix="")
    assert sum(row.tokens for row in counted) == answer.usage.completion_tokens
    # When the first answer's request is streamed with the same seed
    stream = client.chat.completions.create(
        model=MODEL,
        messages=ASK,
        max_tokens=8,
        temperature=0.9,
        seed=5,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    # then the pieces add up to the same text, the last choice chunk says why it ended, and usage comes last
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == answer.choices[0].message.content
    assert len([chunk for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]) >= 2
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == answer.choices[0].finish_reason
    assert chunks[-1].choices == [] and 1 <= chunks[-1].usage.completion_tokens <= 8
    assert chunks[-1].usage.prompt_tokens == answer.usage.prompt_tokens


def test_async_client_completions_stop_and_max_completion_tokens(builtin_live, api_key, web, inference_worker):
    async def ask():
        client = openai.AsyncOpenAI(base_url=f"{web}/v1", api_key=api_key, max_retries=0, timeout=120)
        greedy = [
            client.completions.create(model=MODEL, prompt="The sea is", max_tokens=6, temperature=0) for _ in range(3)
        ]
        chat = client.chat.completions.create(model=f"{MODEL}:1", messages=ASK, max_completion_tokens=3, temperature=0)
        streamed = await client.completions.create(
            model=MODEL, prompt="The sea is", max_tokens=6, temperature=0, stream=True
        )
        pieces = [chunk.choices[0].text async for chunk in streamed]
        return await asyncio.gather(*greedy), await chat, "".join(pieces)

    # In a thread of its own: a session's browser tests leave Playwright's loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        completions, chat, streamed = pool.submit(asyncio.run, ask()).result()
    # Greedy answers to one prompt agree, whether three run at once or one is streamed
    assert completions[0].object == "text_completion"
    texts = {completion.choices[0].text for completion in completions}
    assert len(texts) == 1 and streamed == texts.pop()
    assert completions[0].choices[0].finish_reason == "length" and completions[0].usage.completion_tokens == 6
    # and max_completion_tokens bounds a chat answer
    assert chat.usage.completion_tokens <= 3 and chat.choices[0].finish_reason == "length"


def test_structured_output_json_schema_and_json_object(builtin_live, api_key, web, inference_worker):
    client = openai.OpenAI(base_url=f"{web}/v1", api_key=api_key, max_retries=0, timeout=120)
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}, "score": {"type": "integer"}},
        "required": ["colour", "score"],
    }
    answer = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Give a colour and a score as JSON."}],
        max_tokens=100,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "pick", "schema": schema, "strict": True}},
    )
    value = json.loads(answer.choices[0].message.content)
    assert set(value) == {"colour", "score"} and isinstance(value["score"], int)
    anything = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=100, temperature=0, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(anything.choices[0].message.content), dict)


def test_errors_come_in_openais_error_object(builtin_live, creator, api_key, web):
    client = openai.OpenAI(base_url=f"{web}/v1", api_key=api_key, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        openai.OpenAI(base_url=f"{web}/v1", api_key="aigc_nothing_wrong", max_retries=0).models.list()
    assert refused.value.code == "invalid_api_key"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=ASK)
    assert missing.value.code == "model_not_found" and "no-such-model" in missing.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=MODEL, messages=ASK, temperature=5)
    assert bad.value.param == "temperature" and bad.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as tools:
        client.chat.completions.create(
            model=MODEL, messages=ASK, tools=[{"type": "function", "function": {"name": "f"}}]
        )
    assert tools.value.param == "tools"
    # A REST token works as the bearer too
    token = Token.objects.create(user=creator).key
    assert MODEL in [m.id for m in openai.OpenAI(base_url=f"{web}/v1", api_key=token).models.list()]


def test_over_the_daily_quota_a_request_is_429_insufficient_quota(builtin_live, creator, client_for):
    usage_tokens_record(user_id=creator.pk, tokens=50)
    with override_settings(AIGC_QUOTA_TOKENS_PER_DAY=50):
        response = client_for(creator).post("/v1/chat/completions", {"model": MODEL, "messages": ASK}, format="json")
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert response.json()["error"]["type"] == "insufficient_quota" and "quota" in response.json()["error"]["message"]


def test_rate_limits_apply_and_answer_in_openais_error_object(builtin_live, creator, client_for, settings):
    settings.AIGC_RATE_LIMITS = {**settings.AIGC_RATE_LIMITS, "user": "2/minute"}
    client = client_for(creator)
    answers = [client.get("/v1/models") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    error = answers[2].json()["error"]
    assert (
        error["type"] == "rate_limit_error"
        and error["code"] == "rate_limit_exceeded"
        and answers[2].headers["Retry-After"]
    )


def test_a_model_or_path_that_is_not_there_answers_openais_error_object(creator, client_for):
    # A model id no generator has, in any characters (the fuzzer found a 404 in the platform's own shape),
    # and a path the API does not have: both are OpenAI's error object, which its clients parse
    client = client_for(creator)
    for path in ("/v1/models/%F4%81%AF%B7/", "/v1/models/no-such-model", "/v1/embeddings/nowhere"):
        response = client.get(path)
        assert response.status_code == 404, path
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error", path
