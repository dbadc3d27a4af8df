"""The evaluations API's checks and access rules, and the comparison page. Nothing here runs a job:
bad requests are refused before one is queued, and good ones are only queued."""

import io
import json
import uuid

import pytest

from infrastructure.compute.models import Job
from infrastructure.storage.services import file_store
from tools_layer.datasets import services as datasets
from tools_layer.evaluation.models import Evaluation

pytestmark = pytest.mark.django_db


def text_version(owner, name="prose", kind="text", validation_fraction=0.5):
    dataset = datasets.dataset_create(owner=owner, name=name, kind=kind)
    records = (
        [{"text": f"Sentence number {n} of the {name} set."} for n in range(4)]
        if kind == "text"
        else [{"prompt": f"Say {n}.", "chosen": f"{n}", "rejected": "no"} for n in range(4)]
    )
    file = file_store(owner=owner, stream=io.BytesIO("\n".join(map(json.dumps, records)).encode()), filename="d.jsonl")
    datasets.dataset_import_file(dataset=dataset, file=file, options={}, owner=owner)
    return datasets.dataset_version_create(dataset=dataset, user=owner, validation_fraction=validation_fraction)


def post(client, body):
    return client.post("/api/v1/evaluations/", body, format="json")


def test_an_unknown_generator_is_a_400_naming_the_field(operator, client_for):
    response = post(client_for(operator), {"generator": "no-such-generator", "dataset_version": str(uuid.uuid4())})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_generator"
    assert "generator" in response.json()["error"]["fields"]
    assert not Evaluation.objects.exists() and not Job.objects.exists()


@pytest.mark.parametrize("dataset_version", [None, "missing", "not-a-uuid"])
def test_a_text_generator_needs_a_dataset_version_it_may_see(builtin, operator, client_for, dataset_version):
    body = {"generator": builtin.generator.slug}
    if dataset_version == "missing":
        body["dataset_version"] = str(uuid.uuid4())
    elif dataset_version == "not-a-uuid":
        body["dataset_version"] = "not-a-uuid"
    response = post(client_for(operator), body)
    assert response.status_code == 400
    assert "dataset_version" in response.json()["error"]["fields"]
    assert not Job.objects.exists()


def test_another_users_dataset_version_and_unusable_ones_are_refused(builtin, operator, make_user, client_for):
    theirs = text_version(make_user("operator"), name="theirs")
    no_validation = text_version(operator, name="all-train", validation_fraction=0.0)
    client = client_for(operator)
    for version in (theirs, no_validation):
        response = post(client, {"generator": builtin.generator.slug, "dataset_version": str(version.pk)})
        assert response.status_code == 400, response.json()
        assert "dataset_version" in response.json()["error"]["fields"]
    response = post(
        client, {"generator": builtin.generator.slug, "dataset_version": str(text_version(operator).pk), "version": 9}
    )
    assert response.status_code == 400 and "version" in response.json()["error"]["fields"]
    usable = str(text_version(operator, name="x").pk)
    for extra, field in (({"max_items": 0}, "max_items"), ({"colour": "red"}, "colour")):
        response = post(client, {"generator": builtin.generator.slug, "dataset_version": usable, **extra})
        assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_operators_start_evaluations_and_whoever_sees_the_generator_reads_them(builtin, operator, creator, client_for):
    version = text_version(operator, kind="preference")
    # Given a creator, who may see the built-in generator but not start evaluations.
    refused = post(client_for(creator), {"generator": builtin.generator.slug, "dataset_version": str(version.pk)})
    assert refused.status_code == 403

    # When an operator starts one (production version by default).
    response = post(client_for(operator), {"generator": builtin.generator.slug, "dataset_version": str(version.pk)})
    assert response.status_code == 202, response.json()
    started = response.json()
    assert started["object"]["type"] == "evaluation" and response["Location"] == f"/api/v1/jobs/{started['id']}/"
    evaluation = client_for(operator).get(f"/api/v1/evaluations/{started['object']['id']}/").json()
    assert (evaluation["version"], evaluation["status"], evaluation["max_items"]) == (builtin.number, "queued", 64)
    job = Job.objects.get(pk=evaluation["job"])
    assert str(job.pk) == started["id"] and job.kind == "evaluation" and job.params == {"evaluation": evaluation["id"]}

    # Then the creator reads it, in the list and alone; an unknown filter is a 400, an unknown id a 404.
    creator_client = client_for(creator)
    listed = creator_client.get("/api/v1/evaluations/", {"generator": builtin.generator.slug}).json()
    assert [e["id"] for e in listed["results"]] == [evaluation["id"]]
    # The dataset is the operator's: the creator sees neither its name nor its samples (tests/security).
    assert creator_client.get(f"/api/v1/evaluations/{evaluation['id']}/").json()["dataset"] is None
    assert client_for(operator).get(f"/api/v1/evaluations/{evaluation['id']}/").json()["dataset"] == "prose v1"
    assert creator_client.get("/api/v1/evaluations/", {"generator": "nope"}).status_code == 400
    assert creator_client.get(f"/api/v1/evaluations/{uuid.uuid4()}/").status_code == 404
    assert creator_client.get(f"/api/v1/evaluations/{evaluation['id']}/grid/").status_code == 404


def test_a_private_generators_evaluations_are_hidden_from_other_users(operator, make_user, client_for):
    from models_layer.registry.services import generator_create

    generator = generator_create(owner=operator, slug="private-images", name="Private", kind="image", backend="torch")
    other = make_user("operator")
    response = post(client_for(other), {"generator": generator.slug})
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_generator"
    assert client_for(other).get("/api/v1/evaluations/", {"generator": generator.slug}).status_code == 400


def finished_evaluation(owner, version, dataset_version, perplexity):
    evaluation = Evaluation.objects.create(
        owner=owner,
        version=version,
        dataset_version=dataset_version,
        max_items=4,
        metrics={"perplexity": perplexity, "scored_items": 4},
    )
    job = Job.objects.create(
        owner=owner, kind="evaluation", status="succeeded", params={"evaluation": str(evaluation.pk)}
    )
    Evaluation.objects.filter(pk=evaluation.pk).update(job=job, finished_at=job.created_at)


def test_the_page_shows_versions_side_by_side_and_the_form_to_operators(builtin, operator, creator, client):
    prose, other = text_version(operator), text_version(operator, name="other")
    finished_evaluation(operator, builtin, prose, 12.3456)
    Evaluation.objects.update(samples=[{"item": 1, "prompt": "Say 1.", "references": ["1"], "output": "One <b>"}])
    finished_evaluation(operator, builtin, other, 99.0)

    client.force_login(operator)
    page = client.get("/evaluations/", {"generator": builtin.generator.slug}).content.decode()
    assert 'data-testid="comparison"' in page and "Perplexity" in page and "99.000" in page
    assert 'id="start"' in page and "prose v1" in page
    assert 'data-testid="samples"' in page and "One &lt;b&gt;" in page  # answers are shown as text
    # Compared on one dataset version only, the figure is that evaluation's.
    page = client.get(
        "/evaluations/", {"generator": builtin.generator.slug, "dataset_version": str(prose.pk)}
    ).content.decode()
    assert "12.346" in page and "99.000" not in page.split('data-testid="evaluations"')[0]

    client.force_login(creator)
    page = client.get("/evaluations/").content.decode()
    assert "99.000" in page and 'id="start"' not in page
