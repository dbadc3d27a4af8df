"""The API's errors speak the language Accept-Language asks for, in every area of the platform: the
platform's own messages (datasets, labelling, training, evaluation, generators, jobs, workers, files,
accounts and API keys, a broken model upload) and DRF's (a missing field, a bad token), in Chinese for
zh-hans and in English without the header."""

import io
import re
import struct
import uuid
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

CJK = re.compile(r"[\u4e00-\u9fff]")
MISSING = uuid.UUID(int=1)

# (area, role, method, path, JSON body or None, status, the English message's start)
ERROR_REQUESTS = [
    ("datasets", "operator", "get", f"/api/v1/datasets/{MISSING}/", None, 404, "No dataset with id"),
    (
        "datasets",
        "operator",
        "post",
        "/api/v1/datasets/",
        {"name": "prose", "kind": "text", "licence": "not an id!"},
        400,
        "'not an id!' is not an SPDX identifier.",
    ),
    ("labeling", "operator", "get", f"/api/v1/labeling/projects/{MISSING}/", None, 404, "No labeling project"),
    ("training", "operator", "get", "/api/v1/training-jobs/?recipe=alchemy", None, 400, "Unknown recipe 'alchemy'."),
    ("training", "operator", "get", f"/api/v1/training-jobs/{MISSING}/", None, 404, "No training job with id"),
    ("evaluation", "operator", "get", f"/api/v1/evaluations/{MISSING}/", None, 404, "No evaluation with id"),
    ("generators", "creator", "get", "/api/v1/generators/no-such-model/", None, 404, "No generator 'no-such-model'."),
    ("jobs", "creator", "get", "/api/v1/jobs/?status=sleeping", None, 400, "Unknown status 'sleeping'."),
    ("jobs", "creator", "post", f"/api/v1/jobs/{MISSING}/cancel/", None, 404, "No job with id"),
    ("workers", "creator", "get", "/api/v1/workers/", None, 403, "Only operators and admins may do this."),
    ("workers", "operator", "post", "/api/v1/workers/999999/drain/", None, 404, "No worker with id 999999."),
    ("files", "creator", "get", f"/api/v1/files/{MISSING}/", None, 404, "No file with id"),
    ("api keys", "creator", "delete", "/api/v1/api-keys/999999/", None, 404, "No API key with id 999999."),
    (
        "api keys",
        "creator",
        "post",
        "/api/v1/api-keys/",
        {"name": "ci", "expires_at": "2000-01-01T00:00:00Z"},
        400,
        "A key's expiry must lie in the future.",
    ),
    ("validation", "operator", "post", "/api/v1/datasets/", {}, 400, "The request has invalid fields."),
    ("unknown path", "creator", "get", "/api/v1/no-such-thing/", None, 404, "Nothing here"),
    ("auth", None, "get", "/api/v1/jobs/", None, 401, "Authentication credentials were not provided."),
    ("auth", "bad token", "get", "/api/v1/jobs/", None, 401, "Invalid token."),
    ("api keys", "bad key", "get", "/api/v1/jobs/", None, 401, "Invalid or revoked API key."),
]


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [str(value)]


@pytest.fixture
def client_as(client_for, creator, operator):
    def make(role) -> APIClient:
        if role == "creator":
            return client_for(creator)
        if role == "operator":
            return client_for(operator)
        client = APIClient()
        if role == "bad token":
            client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
        elif role == "bad key":
            client.credentials(HTTP_X_API_KEY="aigc_000000000000_not-a-key")
        return client

    return make


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("area", "role", "method", "path", "body", "status", "english"),
    ERROR_REQUESTS,
    ids=[f"{row[0]}: {row[2].upper()} {row[3]}" for row in ERROR_REQUESTS],
)
def test_an_error_is_in_chinese_under_zh_hans_and_in_english_without_the_header(
    client_as, area, role, method, path, body, status, english
):
    client = client_as(role)
    send = getattr(client, method)
    extra = {"format": "json"} if body is not None else {}
    # Given the same bad request, without a language and in Chinese
    plain = send(path, body, **extra) if body is not None else send(path)
    chinese = (
        send(path, body, HTTP_ACCEPT_LANGUAGE="zh-hans", **extra)
        if body is not None
        else send(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
    )
    # then both are the same 4xx with the same code, the plain one in English ...
    assert plain.status_code == chinese.status_code == status, plain.content
    plain_error, chinese_error = plain.json()["error"], chinese.json()["error"]
    assert plain_error["code"] == chinese_error["code"]
    assert plain_error["message"].startswith(english)
    assert not CJK.search(plain_error["message"])
    # ... and the Chinese one says it in Chinese (its message and every field's message), without the English
    assert CJK.search(chinese_error["message"]), chinese_error
    assert english not in chinese_error["message"]
    assert set(chinese_error.get("fields", {})) == set(plain_error.get("fields", {}))
    for text in _strings(chinese_error.get("fields", {})):
        assert CJK.search(text), chinese_error["fields"]


@pytest.mark.django_db
def test_drf_messages_come_in_chinese_too(client_for, operator):
    # A missing field is DRF's own message, from DRF's catalogue
    answer = client_for(operator).post("/api/v1/datasets/", {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"] == "请求中有无效的字段。"
    assert error["fields"]["name"] == ["该字段是必填项。"]


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, text in members.items():
            zipped.writestr(name, text)
    return buffer.getvalue()


# (what is uploaded, its format, its bytes, the English message, its Chinese pieces)
BROKEN_UPLOADS = [
    (
        "not a GGUF file",
        "gguf",
        b"PK\x03\x04 these bytes are not a model",
        "The file is not GGUF (it does not start with the GGUF magic bytes).",
        ["不是 GGUF 文件"],
    ),
    (
        # a GGUF v3 header with no key/values and no tensors, padded to the 32-byte alignment where the
        # tensor data would start: every problem is named, joined in one sentence
        "an empty GGUF header",
        "gguf",
        b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + bytes(8),
        "The GGUF file is missing the architecture (general.architecture); the tokenizer "
        "(tokenizer.ggml.model and tokenizer.ggml.tokens); the chat template (tokenizer.chat_template); "
        "weights: token_embd.weight (the embeddings).",
        ["GGUF 文件缺少以下内容：架构（general.architecture）；分词器", "；权重：token_embd.weight（词嵌入）。"],
    ),
    (
        "a checkpoint with only its config",
        "hf",
        _zip({"model/config.json": '{"model_type": "llama", "num_hidden_layers": 2}'}),
        "The checkpoint is missing the tokenizer (tokenizer.json, tokenizer.model, or vocab.json with "
        "merges.txt); the chat template (chat_template in tokenizer_config.json, or chat_template.jinja); "
        "weights (no .safetensors file).",
        ["检查点缺少以下内容：分词器", "；对话模板", "；权重（没有 .safetensors 文件）。"],
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("what", "format", "data", "english", "chinese_pieces"), BROKEN_UPLOADS, ids=[row[0] for row in BROKEN_UPLOADS]
)
def test_a_broken_model_upload_is_refused_in_chinese_under_zh_hans(
    client_for, operator, what, format, data, english, chinese_pieces
):
    # Given an operator's text generator
    client = client_for(operator)
    created = client.post("/api/v1/generators/", {"slug": "mine", "name": "Mine", "kind": "text"}, format="json")
    assert created.status_code == 201, created.content

    def upload(**headers):
        file = SimpleUploadedFile(f"model.{'gguf' if format == 'gguf' else 'zip'}", data)
        return client.post(
            "/api/v1/generators/mine/versions/", {"file": file, "format": format}, format="multipart", **headers
        )

    # When the broken file is uploaded without a language and in Chinese
    plain, chinese = upload(), upload(HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then both are refused the same way, the plain one in English ...
    assert plain.status_code == chinese.status_code == 400, plain.content
    plain_error, chinese_error = plain.json()["error"], chinese.json()["error"]
    assert plain_error["code"] == chinese_error["code"] == "invalid_model"
    assert plain_error["message"] == english
    assert plain_error["fields"] == {"file": [english]}
    # ... and the Chinese one in Chinese, every fragment and the sentence that joins them, with no English words
    for piece in chinese_pieces:
        assert piece in chinese_error["message"], chinese_error
    assert chinese_error["fields"] == {"file": [chinese_error["message"]]}
    assert not re.search(r"\b(the|is|missing|weights|not)\b", chinese_error["message"]), chinese_error
