"""Evaluation jobs of a text generator, end to end: the API queues a Job, a real threads-pool worker on
the inference queue runs it with the built-in SmolLM2, and the results land on the evaluation and on
the version's metrics."""

import io
import json
import math
import random
from pydoc_data.topics import topics

import pytest

from infrastructure.compute.models import Job, JobStatus
from infrastructure.storage.services import file_store
from models_layer.registry.models import GeneratorVersion
from tests.processes import wait_for
from tools_layer.datasets import services as datasets
from tools_layer.evaluation.models import Evaluation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

JOB_TIMEOUT = 150


def paragraphs(count: int) -> list[str]:
    """Real English prose: paragraphs of Python's own documentation topics, 200 to 600 characters each."""
    found = []
    for name in sorted(topics):
        for paragraph in topics[name].split("\n\n"):
            text = " ".join(paragraph.split())
            if 200 <= len(text) <= 600 and text[0].isalpha() and "::" not in text:
                found.append(text)
    return found[:count]


def shuffled(text: str, seed: int) -> str:
    characters = list(text)
    random.Random(seed).shuffle(characters)
    return "".join(characters)


def frozen_dataset(owner, name: str, records: list[dict], *, kind: str, validation_fraction: float):
    dataset = datasets.dataset_create(owner=owner, name=name, kind=kind)
    lines = "\n".join(json.dumps(record) for record in records).encode()
    file = file_store(owner=owner, stream=io.BytesIO(lines), filename=f"{name}.jsonl")
    datasets.dataset_import_file(dataset=dataset, file=file, options={"label_field": "label"}, owner=owner)
    return datasets.dataset_version_create(dataset=dataset, user=owner, seed=0, validation_fraction=validation_fraction)


def finished(client, started: dict) -> dict:
    """The evaluation a start answered (its job, the evaluation in `object`), once it has ended."""

    def done():
        found = client.get(f"/api/v1/evaluations/{started['object']['id']}/").json()
        return found if found["status"] in ("succeeded", "failed", "cancelled") else None

    found = wait_for(done, timeout=JOB_TIMEOUT, interval=0.5, what="the evaluation to finish")
    assert found["status"] == "succeeded", found["error"]
    return found


def test_perplexity_is_finite_and_lower_on_prose_than_on_shuffled_characters(
    inference_worker, builtin, operator, client_for
):
    # Given the same paragraphs twice: as written, and with each paragraph's characters shuffled.
    prose = paragraphs(30)
    real = frozen_dataset(operator, "prose", [{"text": t} for t in prose], kind="text", validation_fraction=0.1)
    garbage = frozen_dataset(
        operator,
        "garbage",
        [{"text": shuffled(t, n)} for n, t in enumerate(prose)],
        kind="text",
        validation_fraction=0.1,
    )
    client = client_for(operator)

    # When both are evaluated (the default version: production).
    started = [
        client.post(
            "/api/v1/evaluations/",
            {"generator": builtin.generator.slug, "dataset_version": str(v.pk), "max_items": 3},
            format="json",
        )
        for v in (real, garbage)
    ]
    assert [r.status_code for r in started] == [202, 202], [r.json() for r in started]
    assert all(r.json()["object"]["type"] == "evaluation" for r in started)
    on_prose, on_garbage = (finished(client, r.json()) for r in started)
    assert on_prose["version"] == on_garbage["version"] == builtin.number

    # Then each perplexity is a finite number, and the model finds real prose far less surprising.
    ppl_prose, ppl_garbage = on_prose["metrics"]["perplexity"], on_garbage["metrics"]["perplexity"]
    assert math.isfinite(ppl_prose) and math.isfinite(ppl_garbage)
    assert 1 < ppl_prose < ppl_garbage / 5, (ppl_prose, ppl_garbage)
    assert on_prose["metrics"]["scored_items"] == 3 and on_prose["metrics"]["scored_tokens"] > 100
    assert "bleu" not in on_prose["metrics"]  # a plain text dataset holds no references
    # The job reported progress and its result names the evaluation.
    job = Job.objects.get(pk=on_prose["job"])
    assert job.kind == "evaluation" and job.status == JobStatus.SUCCEEDED and job.progress == 1.0
    assert job.result["metrics"]["perplexity"] == ppl_prose

    # The version's metrics hold the latest evaluation's numbers beside what was there before.
    metrics = GeneratorVersion.objects.get(pk=builtin.pk).metrics
    latest = Evaluation.objects.filter(version=builtin).order_by("-finished_at").first()
    assert metrics["perplexity"] == latest.metrics["perplexity"]
    assert metrics["evaluation"]["id"] == str(latest.pk)
    assert metrics["parameters"] == 134_515_008

    # Side by side: the generator's evaluations list both, newest first.
    listed = client.get("/api/v1/evaluations/", {"generator": builtin.generator.slug}).json()
    assert {e["id"] for e in listed["results"]} == {on_prose["id"], on_garbage["id"]}


def test_bleu_and_rouge_against_references_are_in_range_and_repeat_exactly(
    inference_worker, builtin, operator, client_for
):
    # Given a preference dataset: prompts whose chosen answer is the reference.
    sentences = [
        "The quick brown fox jumps over the lazy dog.",
        "Paris is the capital of France.",
        "Water boils at one hundred degrees Celsius.",
        "The sun rises in the east.",
        "Cats like to sleep in the sun.",
    ]
    records = [
        {"prompt": f"Repeat this sentence exactly, and nothing else: {s}", "chosen": s, "rejected": "I will not."}
        for s in sentences
    ]
    version = frozen_dataset(operator, "references", records, kind="preference", validation_fraction=0.99)
    client = client_for(operator)
    body = {
        "generator": builtin.generator.slug,
        "dataset_version": str(version.pk),
        "max_items": 3,
        "max_new_tokens": 20,
    }

    # When it is evaluated twice, one after the other.
    runs = []
    for _ in range(2):
        response = client.post("/api/v1/evaluations/", body, format="json")
        assert response.status_code == 202, response.json()
        runs.append(finished(client, response.json()))

    # Then BLEU is in 0..100 and ROUGE in 0..1, the greedy answers come close to the references,
    # and the second run measures exactly what the first did.
    first, second = (run["metrics"] for run in runs)
    assert first["reference_items"] == 3
    assert 0 <= first["bleu"] <= 100
    assert all(0 <= first[name] <= 1 for name in ("rouge1", "rouge2", "rougeL"))
    assert first["rougeL"] > 0.3, runs[0]["samples"]
    assert {k: first[k] for k in ("bleu", "rouge1", "rouge2", "rougeL", "perplexity")} == {
        k: second[k] for k in ("bleu", "rouge1", "rouge2", "rougeL", "perplexity")
    }
    assert [s["output"] for s in runs[0]["samples"]] == [s["output"] for s in runs[1]["samples"]]
    assert runs[0]["samples"][0]["references"][0] in sentences


def test_a_cancelled_evaluation_stops_between_items_and_changes_no_metrics(
    inference_worker, builtin, operator, client_for
):
    # Given an evaluation of many validation items.
    version = frozen_dataset(
        operator, "long", [{"text": t} for t in paragraphs(60)], kind="text", validation_fraction=0.9
    )
    client = client_for(operator)
    before = GeneratorVersion.objects.get(pk=builtin.pk).metrics
    started = client.post(
        "/api/v1/evaluations/", {"generator": builtin.generator.slug, "dataset_version": str(version.pk)}, format="json"
    ).json()
    evaluation = {"id": started["object"]["id"], "job": started["id"]}

    # When it is cancelled once it has scored a few items.
    # (Loading is the first 5% of its progress; each of its 54 items is under 2% more.)
    wait_for(
        lambda: Job.objects.get(pk=evaluation["job"]).progress > 0.06,
        timeout=JOB_TIMEOUT,
        interval=0.1,
        what="the evaluation to score items",
    )
    assert client.post(f"/api/v1/jobs/{evaluation['job']}/cancel/").status_code == 200

    # Then it stops within seconds, before the last item, and nothing is recorded.
    wait_for(
        lambda: Job.objects.get(pk=evaluation["job"]).status == JobStatus.CANCELLED, timeout=30, what="the job to stop"
    )
    job = Job.objects.get(pk=evaluation["job"])
    assert job.progress < 0.9
    stored = Evaluation.objects.get(pk=evaluation["id"])
    assert stored.metrics == {} and stored.finished_at is None
    assert GeneratorVersion.objects.get(pk=builtin.pk).metrics == before
