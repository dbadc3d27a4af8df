"""Remote generators (backend openai-compatible) against a second platform: a real `aigc up` with its
own database, Redis and workers, whose /v1/ serves the built-in SmolLM2. This platform's workers call
it over HTTP with an API key of the second one; answers are kept short for 2 cores."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import openai
import pytest
import requests
from rest_framework.authtoken.models import Token

from aigc_platform import embedded
from aigc_platform.audit.models import AuditEvent
from infrastructure.compute.models import Job
from infrastructure.usage.models import DailyUsage
from models_layer.registry.crypto import secret_decrypt
from models_layer.registry.models import RemoteEndpoint
from tests.applications.conftest import marketing_templates  # noqa: F401 (a fixture)
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SECOND_ADMIN_PASSWORD = "second-platform-admin-0123"
# How long a step on the second platform may take: on 2 cores shared with the first platform (and,
# on a busy machine, much else) one short answer took minutes.
SLOW = 900
ASK = [{"role": "user", "content": "Name a colour."}]


@pytest.fixture(scope="module")
def second_platform(tmp_path_factory):
    """`aigc up` in a data directory of its own (SQLite, its own Redis, web, workers), and an API key of its admin."""
    data = tmp_path_factory.mktemp("second-platform")
    port = embedded.free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "AIGC_DATA_DIR", "SECRET_KEY")
    }
    env.update(PYTHONUNBUFFERED="1", AIGC_ADMIN_PASSWORD=SECOND_ADMIN_PASSWORD)
    with open(data / "up.log", "ab") as log:  # the child keeps its own copy of the descriptor
        up = subprocess.Popen(
            [sys.executable, "-m", "aigc_platform.cli", "up", "--port", str(port), "--data-dir", str(data)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert up.poll() is None, (data / "up.log").read_text(errors="replace")
            return "Press Ctrl-C" in (data / "up.log").read_text(errors="replace")

        wait_for(ready, timeout=240, interval=0.5, what="the second platform")
        token = requests.post(
            f"{url}/api/v1/auth/token/", json={"username": "admin", "password": SECOND_ADMIN_PASSWORD}, timeout=30
        ).json()["token"]
        key = requests.post(
            f"{url}/api/v1/api-keys/",
            json={"name": "first platform"},
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        ).json()["key"]
        yield SimpleNamespace(url=url, key=key, logs=data / "logs")
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)


def _register(admin_client, *, name: str, url: str, key: str, slug: str, timeout: float = 300) -> dict:
    endpoint = admin_client.post(
        "/api/v1/remote-endpoints/",
        {"name": name, "base_url": f"{url}/v1", "api_key": key, "timeout_seconds": timeout, "max_concurrency": 4},
        format="json",
    )
    assert endpoint.status_code == 201, endpoint.json()
    version = admin_client.post(
        "/api/v1/remote-generators/",
        {
            "slug": slug,
            "name": f"Remote {name}",
            "endpoint": name,
            "model": "smollm2-135m-instruct",
            "visibility": "public",
        },
        format="json",
    )
    assert version.status_code == 201, version.json()
    job = wait_for(
        lambda: (j := Job.objects.get(pk=version.json()["validation_job"])).is_terminal and j,
        timeout=SLOW,
        what="the remote version's validation",
    )
    assert job.status == "succeeded", job.error
    promoted = admin_client.post(
        f"/api/v1/generators/{slug}/versions/1/promote/", {"stage": "production"}, format="json"
    )
    assert promoted.status_code == 200, promoted.json()
    return endpoint.json()


def _generate(client, slug: str, body: dict) -> dict:
    job = client.post(f"/api/v1/generators/{slug}/generate/?wait=300", body, format="json").json()
    return wait_for(
        lambda: (j := client.get(f"/api/v1/jobs/{job['id']}/").json())["status"] in ("succeeded", "failed") and j,
        timeout=SLOW,
        interval=0.5,
        what="the generation",
    )


def test_a_remote_generator_streams_honours_seeds_fits_schemas_and_never_shows_its_key(
    admin_user,
    creator,
    client_for,
    worker,
    inference_worker,
    web,
    second_platform,
    session_log_dir,
):
    admin = client_for(admin_user)
    # Only an admin registers an engine's URL
    refused = client_for(creator).post(
        "/api/v1/remote-endpoints/", {"name": "mine", "base_url": "http://10.0.0.1/v1"}, format="json"
    )
    assert refused.status_code == 403
    # Given the second platform registered, validated (a real call) and promoted
    endpoint = _register(admin, name="second", url=second_platform.url, key=second_platform.key, slug="remote-smol")
    assert endpoint["has_api_key"] is True and "api_key" not in endpoint
    client = client_for(creator)
    # When a creator generates with it and a seed
    body = {"messages": ASK, "max_new_tokens": 8, "temperature": 0.9, "seed": 21}
    job = _generate(client, "remote-smol", body)
    assert job["status"] == "succeeded", job["error"]
    # then the text is what the second platform writes for that seed (the seed went along)
    direct = requests.post(
        f"{second_platform.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {second_platform.key}"},
        json={
            "model": "smollm2-135m-instruct",
            "messages": ASK,
            "max_tokens": 8,
            "temperature": 0.9,
            "top_p": 0.95,
            "seed": 21,
        },
        timeout=SLOW,
    ).json()
    assert job["result"]["text"] == direct["choices"][0]["message"]["content"]
    assert job["result"]["usage"]["completion_tokens"] == direct["usage"]["completion_tokens"]
    # and it streamed token by token into the job's events
    token = Token.objects.get(user=creator).key
    stream = requests.get(
        f"{web}/api/v1/jobs/{job['id']}/events/", headers={"Authorization": f"Token {token}"}, timeout=60
    )
    pieces = [
        json.loads(line[6:])["text"]
        for event in stream.text.split("\n\n")
        if "event: token" in event
        for line in event.splitlines()
        if line.startswith("data: ")
    ]
    assert len(pieces) >= 2 and "".join(pieces) == job["result"]["text"]
    # and its tokens count into the creator's usage
    assert (
        sum(row.tokens for row in DailyUsage.objects.filter(user=creator))
        >= job["result"]["usage"]["completion_tokens"]
    )
    # When it is asked for JSON that fits a schema, the engine is asked to enforce it and the answer is checked
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}, "score": {"type": "integer"}},
        "required": ["colour", "score"],
    }
    structured = _generate(
        client,
        "remote-smol",
        {
            "messages": [{"role": "user", "content": "A colour and a score, as JSON."}],
            "max_new_tokens": 100,
            "temperature": 0,
            "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
        },
    )
    assert structured["status"] == "succeeded", structured["error"]
    assert set(structured["result"]["json"]) == {"colour", "score"} and isinstance(
        structured["result"]["json"]["score"], int
    )
    # and this platform's own /v1/ serves the remote generator too, streamed
    remote_via_v1 = openai.OpenAI(base_url=f"{web}/v1", api_key=token, max_retries=0, timeout=SLOW)
    chunks = list(
        remote_via_v1.chat.completions.create(
            model="remote-smol", messages=ASK, max_tokens=8, temperature=0.9, seed=21, top_p=0.95, stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == job["result"]["text"]

    # The key is stored encrypted, and is nowhere a person or a log could read it
    key = second_platform.key
    stored = RemoteEndpoint.objects.get(name="second")
    assert key not in stored.api_key_encrypted and secret_decrypt(stored.api_key_encrypted) == key
    answers = [
        admin.get(path).content.decode()
        for path in (
            "/api/v1/remote-endpoints/",
            "/api/v1/remote-endpoints/second/",
            "/api/v1/generators/remote-smol/",
            "/api/v1/jobs/",
            "/v1/models",
            "/generators/",
        )
    ]
    answers.append(json.dumps(list(Job.objects.values("params", "result", "error", "message")), default=str))
    answers.append(json.dumps(list(AuditEvent.objects.values("detail")), default=str))
    answers.extend(path.read_text(errors="replace") for path in Path(session_log_dir).glob("*.log"))
    assert "smollm2-135m-instruct" in answers[2]  # (the answers are the real ones)
    assert not [text[:200] for text in answers if key in text]
    secret_part = key.split("_", 2)[2]
    assert not [text[:200] for text in answers if secret_part in text]


def test_a_dead_endpoint_fails_with_a_clear_error_then_fast_and_the_page_shows_it(
    admin_user,
    creator,
    client_for,
    worker,
    inference_worker,
    second_platform,
    client,
):
    admin = client_for(admin_user)
    _register(admin, name="flaky", url=second_platform.url, key=second_platform.key, slug="remote-flaky")
    # Given the engine's address now leads nowhere (and a short timeout)
    dead_port = embedded.free_port()
    changed = admin.patch(
        "/api/v1/remote-endpoints/flaky/",
        {"base_url": f"http://127.0.0.1:{dead_port}/v1", "timeout_seconds": 2},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["health"]["state"] == "unknown"
    creator_client = client_for(creator)
    body = {"messages": ASK, "max_new_tokens": 4}
    # When a creator generates, the job ends after its retries with an error that says what happened
    started = time.monotonic()
    first = _generate(creator_client, "remote-flaky", body)
    assert first["status"] == "failed"
    assert (
        f"remote generator at 127.0.0.1:{dead_port} gave no answer in 2 s" in first["error"]
        and "3 tries" in first["error"]
    )
    assert time.monotonic() - started >= 1.5  # two backoffs: 0.5 s and 1 s
    # and the next request fails at once, without calling the endpoint: the breaker is open
    second = Job.objects.get(pk=_generate(creator_client, "remote-flaky", body)["id"])
    assert second.status == "failed" and "unavailable" in second.error and "fail at once" in second.error
    first_seconds = (
        Job.objects.get(pk=first["id"]).finished_at - Job.objects.get(pk=first["id"]).started_at
    ).total_seconds()
    assert (second.finished_at - second.started_at).total_seconds() < first_seconds - 1.0  # no tries, no backoff
    health = admin.get("/api/v1/remote-endpoints/flaky/").json()["health"]
    assert health["state"] == "open" and health["consecutive_failures"] >= 3 and "refused" in health["last_error"]
    # and the generators page shows the endpoint's health
    client.force_login(creator)
    page = client.get("/generators/").content.decode()
    assert f"Remote engine flaky at 127.0.0.1:{dead_port}: open" in page


def test_a_redirect_to_another_host_is_not_followed(second_platform):
    # Given an endpoint that answers every request with a redirect to another host (a real HTTP server)
    import http.server
    import threading

    from models_layer.runtime.remote import RemoteConfig, RemoteTextModel
    from models_layer.runtime.requests import TextRequest

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", f"{second_platform.url}/v1/chat/completions")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("localhost", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = RemoteConfig(
            endpoint_id=999_001,
            base_url=f"http://localhost:{server.server_port}/v1",
            model="smollm2-135m-instruct",
            api_key=second_platform.key,
            timeout=5,
        )
        # When the runtime calls it, the redirect is refused with the reason, and the key never reaches the other host
        with pytest.raises(Exception) as refused:
            RemoteTextModel(config).generate(TextRequest(messages=ASK, max_new_tokens=4, seed=1))
        assert "redirects to another host are not followed" in str(refused.value)
        assert "127.0.0.1" in str(refused.value)
    finally:
        server.shutdown()


def test_a_remote_generator_is_evaluated_on_its_answers(
    admin_user, client_for, worker, inference_worker, second_platform
):
    from tests.tools_layer.test_evaluation_text import frozen_dataset

    admin = client_for(admin_user)
    _register(admin, name="judged", url=second_platform.url, key=second_platform.key, slug="remote-judged")
    sentences = ["Paris is the capital of France.", "The sun rises in the east.", "Cats like to sleep in the sun."]
    records = [
        {"prompt": f"Repeat this sentence exactly, and nothing else: {s}", "chosen": s, "rejected": "No."}
        for s in sentences
    ]
    dataset_version = frozen_dataset(
        admin_user, "remote-references", records, kind="preference", validation_fraction=0.99
    )
    # When the remote generator is evaluated against reference answers
    response = admin.post(
        "/api/v1/evaluations/",
        {
            "generator": "remote-judged",
            "dataset_version": str(dataset_version.pk),
            "max_items": 2,
            "max_new_tokens": 16,
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    evaluation = wait_for(
        lambda: (
            (e := admin.get(f"/api/v1/evaluations/{response.json()['object']['id']}/").json())["status"]
            in ("succeeded", "failed", "cancelled")
            and e
        ),
        timeout=SLOW,
        interval=0.5,
        what="the evaluation",
    )
    assert evaluation["status"] == "succeeded", evaluation["error"]
    metrics = evaluation["metrics"]
    # then its answers are scored (BLEU, ROUGE); perplexity needs weights the platform does not hold
    assert metrics["reference_items"] == 2 and 0 <= metrics["bleu"] <= 100 and 0 <= metrics["rougeL"] <= 1
    assert "perplexity" not in metrics
    # and the answers scored are the ones the remote engine writes for those prompts
    for sample in evaluation["samples"]:
        direct = requests.post(
            f"{second_platform.url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {second_platform.key}"},
            json={
                "model": "smollm2-135m-instruct",
                "messages": [{"role": "user", "content": sample["prompt"]}],
                "max_tokens": 16,
                "temperature": 0,
            },
            timeout=SLOW,
        ).json()
        assert sample["output"] == direct["choices"][0]["message"]["content"].strip()


@pytest.mark.usefixtures("marketing_templates")
def test_marketing_copy_is_written_by_a_remote_generator(
    admin_user, creator, client_for, worker, inference_worker, second_platform
):
    _register(
        client_for(admin_user), name="writer", url=second_platform.url, key=second_platform.key, slug="remote-writer"
    )
    client = client_for(creator)
    # When a creator asks for a headline written by the remote generator
    answer = client.post(
        "/api/v1/marketing/generations/",
        {
            "template": "ad-headline",
            "product": "Trailblazer leather hiking boots that keep feet dry",
            "audience": "weekend hikers",
            "tone": "bold",
            "language": "en",
            "variants": 1,
            "length": "short",
            "generator": "remote-writer",
        },
        format="json",
    )
    assert answer.status_code == 202, answer.content
    job = wait_for(
        lambda: (
            (j := client.get(f"/api/v1/jobs/{answer.json()['id']}/").json())["status"]
            in ("succeeded", "failed", "cancelled")
            and j
        ),
        timeout=SLOW,
        interval=0.5,
        what="the marketing job",
    )
    # then the copy comes back checked, written by it
    assert job["status"] == "succeeded", job["error"]
    (variant,) = job["result"]["variants"]
    assert variant["text"] and "length" in variant["checks"]
    assert "remote-writer" in json.dumps(client.get("/api/v1/marketing/generations/").json())
