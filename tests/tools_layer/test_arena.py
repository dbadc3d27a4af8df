"""Blind comparisons end to end: an operator compares two versions over three prompts through the API,
a real inference worker answers with the built-in SmolLM2 weights and makes the pairwise labelling
project, annotators judge through the labelling API without learning which version wrote which
answer, the results rate the versions, and a promotion citing the comparison shows on the model card."""

import io
import json

import pytest
from django.test import Client

from applications.marketing.models import Generation, Template
from infrastructure.storage.services import file_store
from models_layer.registry import services as registry
from tests.processes import wait_for
from tools_layer.arena.models import ComparisonPair
from tools_layer.arena.selectors import arena_prompts
from tools_layer.datasets import services as datasets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

JOB_TIMEOUT = 240
SLUG = "house-style"
BUILTIN = "smollm2-135m-instruct"
PROMPTS = [
    "Write one sentence about why people like bicycles.",
    "Name a fruit that is yellow.",
    "Say hello to a new colleague in one sentence.",
]


@pytest.fixture
def two_versions(builtin, operator):
    """The built-in generator's production version, and the operator's own generator with one validated
    chat version of the same weights (so that the operator may promote it)."""
    generator = registry.generator_create(owner=operator, slug=SLUG, name="House style", kind="text")
    own = registry.generator_version_create(
        generator=generator, artifact=builtin.artifact, format="gguf", parameters={"chat": True}, created_by=operator
    )
    registry.generator_version_validate(version_id=own.pk)
    return builtin, own


def prompt_dataset(owner):
    dataset = datasets.dataset_create(owner=owner, name="arena prompts", kind="text")
    lines = "\n".join(json.dumps({"text": prompt}) for prompt in PROMPTS).encode()
    file = file_store(owner=owner, stream=io.BytesIO(lines), filename="prompts.jsonl")
    datasets.dataset_import_file(dataset=dataset, file=file, options={}, owner=owner)
    return datasets.dataset_version_create(dataset=dataset, user=owner, validation_fraction=0)


def keys_of(value) -> set[str]:
    """Every key of a JSON value, however deeply nested."""
    if isinstance(value, dict):
        return set(value) | {key for inner in value.values() for key in keys_of(inner)}
    if isinstance(value, list):
        return {key for inner in value for key in keys_of(inner)}
    return set()


def judged_by(client, project: str, choose) -> int:
    """Answer every task the annotator is handed, `choose(task)` picking a, b or tie; returns how many."""
    count = 0
    while True:
        response = client.post(f"/api/v1/labeling/projects/{project}/next-task/")
        if response.status_code == 204:
            return count
        task = response.json()
        answered = client.post(
            f"/api/v1/labeling/tasks/{task['id']}/annotations/", {"value": {"choice": choose(task)}}, format="json"
        )
        assert answered.status_code == 201, answered.json()
        count += 1


def test_a_blind_comparison_rates_the_preferred_version_and_a_promotion_cites_it(
    inference_worker, two_versions, operator, make_user, client_for
):
    _, own = two_versions
    contenders = [{"generator": BUILTIN}, {"generator": SLUG, "version": 1}]
    alice, bob = make_user("creator"), make_user("creator")
    data = prompt_dataset(operator)
    client = client_for(operator)

    # Bad input is a 400 naming the field: one version only, then an unknown prompt source.
    one = client.post(
        "/api/v1/comparisons/",
        {"versions": contenders[1:], "prompt_source": "dataset", "dataset_version": str(data.pk)},
        format="json",
    )
    assert one.status_code == 400 and "versions" in one.json()["error"]["fields"]
    unknown = client.post(
        "/api/v1/comparisons/",
        {
            "versions": contenders,
            "prompt_source": "rumours",
        },
        format="json",
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_prompt_source"

    # When the operator compares the built-in version and their own over the three prompts, two judgements per pair of answers.
    started = client.post(
        "/api/v1/comparisons/",
        {
            "name": "Spring copy test",
            "versions": contenders,
            "prompt_source": "dataset",
            "dataset_version": str(data.pk),
            "max_prompts": 3,
            "max_new_tokens": 12,
            "annotators": [alice.username, bob.username],
            "overlap": 2,
        },
        format="json",
    )
    assert started.status_code == 202, started.json()
    comparison_id = started.json()["object"]["id"]

    def judging():
        found = client.get(f"/api/v1/comparisons/{comparison_id}/").json()
        assert found["status"] not in ("failed", "cancelled"), found["error"]
        return found if found["status"] == "judging" else None

    comparison = wait_for(judging, timeout=JOB_TIMEOUT, interval=0.5, what="the comparison's answers")
    project = comparison["project"]
    assert comparison["prompt_count"] == 3 and comparison["results"]["tasks"] == 3
    assert comparison["results"]["judgements"] == 0

    # Then an annotator's task shows the prompt and two answers, and nothing names a version: not the
    # task, not the project, not the labelling page; the comparison's results are not theirs to read.
    annotator = client_for(alice)
    task = annotator.post(f"/api/v1/labeling/projects/{project}/next-task/").json()
    assert task["content"]["kind"] == "pair" and task["content"]["prompt"] in PROMPTS
    assert task["source"] == {"app": "arena"} and task["proposal"] is None
    project_body = annotator.get(f"/api/v1/labeling/projects/{project}/").json()
    browser = Client()
    browser.force_login(alice)
    page = browser.get(f"/labeling/{project}/label/")
    assert page.status_code == 200
    for shown in (json.dumps(task), json.dumps(project_body), page.content.decode()):
        assert SLUG not in shown and BUILTIN not in shown and "Spring copy test" not in shown
    assert not {key for key in keys_of(task) if "version" in key or "generator" in key}
    assert annotator.get(f"/api/v1/comparisons/{comparison_id}/").status_code == 404
    annotator.post(f"/api/v1/labeling/tasks/{task['id']}/release/")

    # When both annotators prefer whatever the operator's version wrote (which side that is, only the comparison's rows
    # know), except that Bob calls one pair a tie.
    sides = {pair.task_id: pair for pair in ComparisonPair.objects.select_related("first", "second")}

    def prefer_own(task):
        return "a" if sides[task["id"]].first.version_id == own.pk else "b"

    ties = iter(["tie"])
    assert judged_by(annotator, project, prefer_own) == 3
    assert judged_by(client_for(bob), project, lambda task: next(ties, None) or prefer_own(task)) == 3

    # Then the operator's version rates above the built-in one, with intervals around each rating, over
    # six judgements, of which it won 5.5.
    results = client.get(f"/api/v1/comparisons/{comparison_id}/").json()["results"]
    assert results["judgements"] == 6
    best, worst = results["versions"]
    assert (best["generator"], worst["generator"]) == (SLUG, BUILTIN)
    assert best["rating"] > 1000 > worst["rating"]
    assert all(row["low"] <= row["rating"] <= row["high"] for row in results["versions"])
    assert best["judgements"] == worst["judgements"] == 6 and best["wins"] == 5.5
    (pair,) = results["pairs"]
    rate_of_own = pair["first_win_rate"] if pair["first"]["generator"] == SLUG else pair["second_win_rate"]
    assert rate_of_own == pytest.approx(5.5 / 6, abs=1e-4)
    operator_browser = Client()
    operator_browser.force_login(operator)
    shown = operator_browser.get(f"/evaluations/comparisons/{comparison_id}/").content.decode()
    assert "Spring copy test" in shown and f"{SLUG} v1" in shown and 'data-comparison="' in shown

    # When the operator's version is promoted citing the comparison (and a version that was not in it
    # cannot cite it: a 400).
    promoted = client.post(
        f"/api/v1/generators/{SLUG}/versions/1/promote/",
        {"stage": "production", "comparison": comparison_id},
        format="json",
    )
    assert promoted.status_code == 200, promoted.json()
    citation = promoted.json()["promotion_citation"]
    assert citation["comparison"] == comparison_id and citation["judgements"] == 6
    assert citation["ratings"][0]["generator"] == SLUG and citation["stage"] == "production"
    stranger = registry.generator_create(owner=operator, slug="elsewhere", name="Elsewhere", kind="text")
    registry.generator_version_create(
        generator=stranger, artifact=own.artifact, format="gguf", parameters={"chat": True}, created_by=operator
    )
    refused = client.post(
        "/api/v1/generators/elsewhere/versions/1/promote/",
        {"stage": "production", "comparison": comparison_id},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "not_in_comparison"

    # Then the model card shows the comparison: its name, link, ratings and judgements.
    card = operator_browser.get("/generators/").content.decode()
    assert 'data-testid="promotion-citation"' in card
    assert f'href="/evaluations/comparisons/{comparison_id}/"' in card and "Spring copy test" in card


def test_the_applications_offer_their_recent_requests_as_prompts(operator, other_creator):
    # Given a marketing request of the operator's and one of another user's.
    template, _ = Template.objects.get_or_create(
        slug="arena-headline",
        defaults={
            "name": "Headline",
            "fields": [{"name": "headline", "label": "Headline", "min_chars": 10, "max_chars": 60}],
            "prompt": "Write one headline for {product}, for {audience}, in a {tone} tone. {voice}{keywords}",
        },
    )
    for owner, product in ((operator, "a folding bicycle"), (other_creator, "a rain jacket")):
        Generation.objects.create(
            owner=owner,
            template=template,
            product=product,
            audience="commuters",
            tone="friendly",
            language="en",
            variant_count=1,
        )

    # Then the arena reads the operator's own request, in the template's words, and only theirs.
    prompts = arena_prompts(user=operator, source="marketing", limit=5)
    assert len(prompts) == 1 and "a folding bicycle" in prompts[0] and "commuters" in prompts[0]
    assert "Reply as JSON" not in prompts[0]
    assert arena_prompts(user=operator, source="courseware", limit=5) == []
