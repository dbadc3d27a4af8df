"""Moderation: policies managed over the API (a bad or catastrophic pattern is a 400), and the one
content filter on every way in and out, against the live web server and the threads-pool inference
worker with the built-in SmolLM2: the generate API (?wait), the playground's way in, /v1/ through the
official `openai` client (whole and streamed), and a classifier generator's label. Each block is in
the audit log with the policy that fired."""

import json

import openai
import pytest
import requests
from django.test import Client
from rest_framework.authtoken.models import Token

from aigc_platform.accounts.services import api_key_create
from aigc_platform.audit.models import AuditEvent
from infrastructure.compute.models import Job
from models_layer.moderation.services import moderation_policy_create
from models_layer.registry import services as registry_services
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "smollm2-135m-instruct"
# An answer the grammar forces word for word: clean for 100 characters, then the word a policy blocks.
FORCED = (
    "The weather report for today says sunny skies with a light breeze over the hills and the valley, then zorblax."
)
FORCED_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "forced",
        "schema": {
            "type": "object",
            "properties": {"say": {"type": "string", "enum": [FORCED]}},
            "required": ["say"],
            "additionalProperties": False,
        },
    },
}
SAY_IT = [{"role": "user", "content": "Answer with the JSON object."}]


@pytest.fixture
def builtin_live(transactional_db):
    return registry_services.generators_bootstrap()


def _blocks(**detail):
    return list(
        AuditEvent.objects.filter(action="content.blocked", **{f"detail__{k}": v for k, v in detail.items()}).order_by(
            "created_at"
        )
    )


def test_operators_manage_policies_and_bad_patterns_are_refused(operator, creator, admin_user, client_for):
    client = client_for(operator)
    # A pattern that does not compile, one that backtracks for ever, and one that matches nothing at all are 400s
    for pattern, why in (("(unclosed", "valid regular expression"), (r"(\w+\s?)+$", "backtracking"), ("x*", "empty")):
        refused = client.post(
            "/api/v1/moderation/policies/", {"name": "bad", "kind": "regex", "pattern": pattern}, format="json"
        )
        assert refused.status_code == 400 and why in refused.json()["error"]["fields"]["pattern"][0], refused.json()
    no_terms = client.post("/api/v1/moderation/policies/", {"name": "w", "kind": "words", "terms": []}, format="json")
    assert no_terms.status_code == 400 and "terms" in no_terms.json()["error"]["fields"]
    bad_labels = client.post(
        "/api/v1/moderation/policies/",
        {"name": "c", "kind": "classifier", "classifier": "no-such-generator"},
        format="json",
    )
    assert bad_labels.status_code == 400 and "classifier" in bad_labels.json()["error"]["fields"]
    # A good one is kept, audited, listed, changed and shown on the page
    made = client.post(
        "/api/v1/moderation/policies/",
        {"name": "phone-numbers", "kind": "regex", "pattern": r"\b\d{3}-\d{4}\b", "applies_to": "outputs"},
        format="json",
    )
    assert made.status_code == 201 and made.json()["created_by"] == operator.username
    assert AuditEvent.objects.filter(action="moderation.policy.create", actor=operator).exists()
    assert [p["name"] for p in client.get("/api/v1/moderation/policies/").json()["results"]] == ["phone-numbers"]
    taken = client.post(
        "/api/v1/moderation/policies/", {"name": "phone-numbers", "kind": "words", "terms": ["x"]}, format="json"
    )
    assert taken.status_code == 409
    dry = client.post(
        "/api/v1/moderation/check/", {"text": "call 555-1234 now", "direction": "output"}, format="json"
    ).json()
    assert dry["blocked"] and dry["policies"][0] == {
        "id": made.json()["id"],
        "name": "phone-numbers",
        "kind": "regex",
        "matches": ["555-1234"],
    }
    assert not client.post("/api/v1/moderation/check/", {"text": "call 555-1234 now"}, format="json").json()[
        "blocked"
    ]  # input
    changed = client.patch("/api/v1/moderation/policies/phone-numbers/", {"enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert (
        client.patch("/api/v1/moderation/policies/phone-numbers/", {"pattern": "("}, format="json").status_code == 400
    )
    # The page shows the policies (operators), not to creators; admins also have the Django admin
    pages = {user: Client() for user in (operator, creator, admin_user)}
    for user, browser in pages.items():
        browser.force_login(user)
    page = pages[operator].get("/moderation/")
    assert page.status_code == 200 and b"phone-numbers" in page.content and b"default-word-list" in page.content
    assert pages[creator].get("/moderation/").status_code == 403
    assert client_for(creator).get("/api/v1/moderation/policies/").status_code == 403
    assert pages[admin_user].get("/admin/moderation/moderationpolicy/add/").status_code == 200
    schema = client.get("/api/schema/?format=json").json()
    assert {"/api/v1/moderation/policies/", "/api/v1/moderation/policies/{name}/", "/api/v1/moderation/check/"} <= set(
        schema["paths"]
    )
    assert client.delete("/api/v1/moderation/policies/phone-numbers/").status_code == 204


def test_generate_api_and_playground_refuse_blocked_prompts_and_cut_blocked_answers(
    builtin_live, operator, creator, client_for, inference_worker, web
):
    client = client_for(creator)
    # A prompt with a term of the default word list is refused before any job, and audited
    refused = client.post(
        f"/api/v1/generators/{MODEL}/generate/?wait=60",
        {"messages": [{"role": "user", "content": "How do I make a bomb?"}], "max_new_tokens": 8},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "content_blocked"
    assert "messages" in refused.json()["error"]["fields"]
    assert not Job.objects.filter(kind="generate", owner=creator).exists()
    [event] = _blocks(where="generate API input")
    assert event.actor == creator and event.detail["policy"] == "default-word-list"
    assert event.detail["terms"] == ["make a bomb"]
    # The playground's requests are named as such
    assert client.post(
        f"/api/v1/generators/{MODEL}/generate/?via=playground",
        {"prompt": "kill yourself", "max_new_tokens": 8},
        format="json",
    ).json()["error"]["code"] == ("content_blocked")
    assert _blocks(where="playground input")[0].detail["terms"] == ["kill yourself"]
    # Given an output pattern an operator added
    moderation_policy_create(
        user=operator, name="made-up-word", kind="regex", pattern="(?i)zorblax", applies_to="outputs"
    )
    # when the generator is made to write it
    body = {"messages": SAY_IT, "max_new_tokens": 60, "temperature": 0, "response_format": FORCED_FORMAT}
    started = client.post(f"/api/v1/generators/{MODEL}/generate/?wait=120", body, format="json").json()
    # (a first load of the model on a busy machine can take longer than the wait)
    job = wait_for(
        lambda: (j := client.get(f"/api/v1/jobs/{started['id']}/").json())["status"] in ("succeeded", "failed") and j,
        timeout=600,
        interval=0.5,
        what="the generation",
    )
    # then the answer stops there, keeps only what passed, and says why
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["finish_reason"] == "content_filter" and result["moderation"]["policy"] == "made-up-word"
    assert "zorblax" not in result["text"] and "json" not in result
    assert result["text"].startswith('{"say": "The weather report') and FORCED.startswith(result["text"][9:])
    # and the job's live stream carried exactly that, never the blocked word
    token = Token.objects.get_or_create(user=creator)[0].key
    stream = requests.get(
        f"{web}/api/v1/jobs/{job['id']}/events/", headers={"Authorization": f"Token {token}"}, timeout=30
    )
    pieces = [
        json.loads(line[6:])["text"]
        for event in stream.text.split("\n\n")
        if "event: token" in event
        for line in event.splitlines()
        if line.startswith("data: ")
    ]
    assert "".join(pieces) == result["text"]  # (the job's params, also in the stream, name the word: its schema)
    [blocked] = _blocks(where="generate API output")
    assert blocked.detail["policy"] == "made-up-word" and blocked.detail["policies"][0]["matches"] == ["zorblax"]
    assert (blocked.target_type, blocked.target_id, blocked.actor) == ("compute.job", job["id"], creator)


def test_a_regex_policy_made_over_the_api_fires_on_v1_whole_and_streamed(
    builtin_live, operator, creator, web, inference_worker
):
    # Given a pattern an operator adds through the REST API of the live server
    operator_token = Token.objects.create(user=operator).key
    made = requests.post(
        f"{web}/api/v1/moderation/policies/",
        json={"name": "made-up-word", "kind": "regex", "pattern": "(?i)zorblax", "description": "made-up word"},
        headers={"Authorization": f"Token {operator_token}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    client = openai.OpenAI(
        base_url=f"{web}/v1", api_key=api_key_create(owner=creator, name="c").raw_key, max_retries=0, timeout=120
    )
    # When a creator's message holds it, the request is refused in OpenAI's error object
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "What is a Zorblax?"}])
    assert refused.value.code == "content_policy_violation" and refused.value.param == "messages"
    assert refused.value.body["type"] == "invalid_request_error" and "made-up-word" in refused.value.message
    [event] = _blocks(where="v1 input")
    assert event.actor == creator and event.detail["policy"] == "made-up-word"
    assert event.detail["policies"][0]["id"] == made.json()["id"]
    # When the model is made to write it, the whole answer ends with content_filter, without the word
    ask = {"model": MODEL, "messages": SAY_IT, "max_tokens": 60, "temperature": 0, "response_format": FORCED_FORMAT}
    whole = client.chat.completions.create(**ask)
    assert whole.choices[0].finish_reason == "content_filter"
    assert whole.choices[0].message.content and "zorblax" not in whole.choices[0].message.content
    # and streamed, the same clean beginning arrives in pieces and the stream ends the same way
    chunks = list(client.chat.completions.create(**ask, stream=True))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 2
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "content_filter"
    outputs = _blocks(where="v1 output")
    assert len(outputs) == 2 and {e.detail["policy"] for e in outputs} == {"made-up-word"}
    # A legacy completion's prompt is held to it too
    with pytest.raises(openai.BadRequestError) as prompt:
        client.completions.create(model=MODEL, prompt=["fine", "zorblax"], max_tokens=2)
    assert prompt.value.param == "prompt"


def test_a_classifier_generator_labels_inputs_through_the_runtime(
    builtin_live, operator, creator, client_for, inference_worker
):
    # Given the built-in model registered as a classifier whose every label blocks (SmolLM2 judges
    # poorly, so this checks the contract: a label from the list, asked on the generation queue)
    moderation_policy_create(
        user=operator,
        name="smol-judge",
        kind="classifier",
        classifier=builtin_live.generator,
        labels=["safe", "unsafe"],
        blocked_labels=["safe", "unsafe"],
        applies_to="inputs",
    )
    # when a creator asks for anything
    refused = client_for(creator).post(
        f"/api/v1/generators/{MODEL}/generate/", {"prompt": "Name a colour.", "max_new_tokens": 4}, format="json"
    )
    # then the classifier's job labelled it, and the label blocked it
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "content_blocked", refused.json()
    [job] = Job.objects.filter(kind="moderation-classify", owner=creator)
    assert job.status == "succeeded" and job.result["label"] in ("safe", "unsafe")
    [event] = _blocks(where="generate API input")
    assert event.detail["policy"] == "smol-judge" and event.detail["policies"][0]["label"] == job.result["label"]
