"""Training on people's judgements: a run names a labelling project instead of a dataset version, and
its judgements are exported into the version it trains on (pairs for lm-dpo, from pairwise choices or
from ratings within a prompt; texts for lm-finetune, accepted only or rated at least N); the refusals
are 400s naming the field. Submission only: test_training_recipes.py trains lm-dpo, and
tests/applications/test_improvement_loop.py runs the whole loop on workers."""

import pytest
from django.test import Client

from tests.tools_layer.training_data import image_version
from tools_layer.datasets.selectors import dataset_version_items
from tools_layer.training.data import training_data
from tools_layer.training.models import TrainingRun

pytestmark = pytest.mark.django_db

TAGLINE = "A tagline for the Aurora lamp"


@pytest.fixture
def annotator(make_user):
    return make_user("creator")


def project_with(client, annotator, task_type: str, outputs: list[dict]) -> str:
    project = client.post(
        "/api/v1/labeling/projects/",
        {"name": f"{task_type} copy", "task_type": task_type, "annotators": [annotator.username]},
        format="json",
    ).json()["id"]
    sent = client.post(f"/api/v1/labeling/projects/{project}/outputs/", {"outputs": outputs}, format="json")
    assert sent.status_code == 201, sent.json()
    return project


def judge_all(client, project: str, answer) -> list[int]:
    """Answer every task handed out, `answer(content)` giving the value; returns the annotations' ids."""
    ids = []
    while (response := client.post(f"/api/v1/labeling/projects/{project}/next-task/")).status_code != 204:
        task = response.json()
        answered = client.post(
            f"/api/v1/labeling/tasks/{task['id']}/annotations/", {"value": answer(task["content"])}, format="json"
        )
        assert answered.status_code == 201, answered.json()
        ids.append(answered.json()["id"])
    return ids


def submitted_run(client, body: dict) -> TrainingRun:
    started = client.post("/api/v1/training-jobs/", body, format="json")
    assert started.status_code == 202, started.json()
    return TrainingRun.objects.select_related("dataset_version__dataset").get(pk=started.json()["id"])


def test_pairwise_judgements_become_the_preference_pairs_of_an_lm_dpo_run(builtin, operator, annotator, client_for):
    client = client_for(operator)
    outputs = [
        {"prompt": TAGLINE, "a": "Aurora: light that follows you.", "b": "A lamp."},
        {"prompt": TAGLINE, "a": "Just a lamp.", "b": "Aurora lights late nights."},
        {"prompt": TAGLINE, "a": "Aurora, bright.", "b": "Aurora, brighter."},
    ]
    project = project_with(client, annotator, "pairwise", outputs)
    # Given an annotator who prefers the side naming Aurora, and calls the third pair a tie
    judge_all(
        client_for(annotator),
        project,
        lambda c: {"choice": "tie" if "bright" in c["a"] else ("a" if "Aurora" in c["a"] else "b")},
    )

    # The training form offers the project as what a run may train on
    browser = Client()
    browser.force_login(operator)
    page = browser.get("/training/new/").content.decode()
    assert 'id="labeling-project"' in page and f'"id": "{project}"' in page and "(pairwise)" in page

    # When an lm-dpo run is submitted on the project's judgements
    run = submitted_run(client, {"recipe": "lm-dpo", "labeling_project": project})

    # Then it trains on their export, a preference dataset version with the tie left out, and keeps both as lineage
    assert str(run.labeling_project_id) == project and run.label_filter == {}
    assert run.dataset_version.dataset.kind == "preference" and project in run.dataset_version.dataset.source
    shown = client.get(f"/api/v1/training-jobs/{run.pk}/").json()
    assert shown["labeling_project"] == project and shown["dataset_version"] == str(run.dataset_version_id)
    data = training_data(version=run.dataset_version, kind="preference")
    pairs = data["train"] + data["validation"]
    assert sorted((p["chosen"], p["rejected"]) for p in pairs) == [
        ("Aurora lights late nights.", "Just a lamp."),
        ("Aurora: light that follows you.", "A lamp."),
    ]
    assert all(p["prompt"] == TAGLINE for p in pairs)


def test_ratings_pair_up_within_a_prompt_and_filter_the_texts_of_lm_finetune(builtin, operator, annotator, client_for):
    client = client_for(operator)
    ratings = {"Five stars.": 5, "Three stars.": 3, "Also three.": 3, "One star.": 1, "Elsewhere four.": 4}
    outputs = [
        {"text": text, "prompt": "Other prompt" if text.startswith("Elsewhere") else TAGLINE} for text in ratings
    ]
    project = project_with(client, annotator, "rating", outputs)
    annotations = judge_all(client_for(annotator), project, lambda c: {"rating": ratings[c["text"]]})

    # Ratings into pairs: within one prompt, the higher rating chosen; equal ratings and lone prompts give none
    run = submitted_run(client, {"recipe": "lm-dpo", "labeling_project": project})
    pairs = {(example.pair["a"], example.pair["b"]) for example in dataset_version_items(version=run.dataset_version)}
    assert pairs == {
        ("Five stars.", "Three stars."),
        ("Five stars.", "Also three."),
        ("Five stars.", "One star."),
        ("Three stars.", "One star."),
        ("Also three.", "One star."),
    }

    # lm-finetune on the texts rated 3 or more
    rated = submitted_run(
        client, {"recipe": "lm-finetune", "labeling_project": project, "label_filter": {"min_rating": 3}}
    )
    texts = {example.text for example in dataset_version_items(version=rated.dataset_version)}
    assert texts == {"Five stars.", "Three stars.", "Also three.", "Elsewhere four."}
    assert rated.label_filter == {"min_rating": 3} and rated.dataset_version.dataset.kind == "text"

    # and on the accepted ones only, once a reviewer accepted one
    reviewed = client.post(f"/api/v1/labeling/annotations/{annotations[0]}/review/", {"decision": "accept"})
    assert reviewed.status_code == 200, reviewed.json()
    accepted = submitted_run(
        client, {"recipe": "lm-finetune", "labeling_project": project, "label_filter": {"only_accepted": True}}
    )
    assert [example.text for example in dataset_version_items(version=accepted.dataset_version)] == ["Five stars."]


def test_bad_label_requests_are_400s_naming_the_field(builtin, operator, annotator, make_user, client_for):
    client = client_for(operator)
    project = project_with(client, annotator, "pairwise", [{"prompt": "p", "a": "x", "b": "y"}])
    images = image_version(operator, count=4)

    def refused(body: dict, field: str, status: int = 400) -> dict:
        response = client.post("/api/v1/training-jobs/", body, format="json")
        assert response.status_code == status, response.json()
        if field:
            assert field in response.json()["error"].get("fields", {}), response.json()
        return response.json()["error"]

    # Nothing judged yet: nothing to train on
    assert refused({"recipe": "lm-dpo", "labeling_project": project}, "labeling_project")["code"] == (
        "no_training_examples"
    )
    judge_all(client_for(annotator), project, lambda c: {"choice": "a"})
    refused({"recipe": "lm-dpo"}, "dataset_version")
    refused({"recipe": "lm-dpo", "labeling_project": project, "dataset_version": str(images.pk)}, "labeling_project")
    refused(
        {"recipe": "lm-dpo", "dataset_version": str(images.pk), "label_filter": {"min_rating": 4}}, "labeling_project"
    )
    refused({"recipe": "lm-dpo", "labeling_project": project, "label_filter": {"min_rating": 4}}, "min_rating")
    refused({"recipe": "lm-finetune", "labeling_project": project}, "labeling_project")
    refused({"recipe": "vae", "labeling_project": project}, "labeling_project")
    refused({"recipe": "lm-dpo", "labeling_project": project, "label_filter": {"min_rating": 9}}, "label_filter")
    # Someone else's project is not found
    stranger = client_for(make_user("operator"))
    assert (
        stranger.post(
            "/api/v1/training-jobs/", {"recipe": "lm-dpo", "labeling_project": project}, format="json"
        ).status_code
        == 404
    )
    assert not TrainingRun.objects.exists()
