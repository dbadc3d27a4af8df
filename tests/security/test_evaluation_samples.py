"""Finding 2 of issue 21, as the attack: an evaluation on a private dataset quotes that dataset (its
samples hold prompts and references). Whoever may see the generator sees the evaluation and its
metrics, but its samples and its dataset's name only if they may read the dataset."""

import io
import json

import pytest

from infrastructure.compute.models import Job
from infrastructure.storage.services import file_store
from tools_layer.datasets import services as datasets
from tools_layer.evaluation.models import Evaluation

pytestmark = pytest.mark.django_db

SECRET_PROMPT = "What is the launch code of Project Nightjar?"
SECRET_ANSWER = "Nightjar launches on 2027-03-14 at 0400 from pad 7."


def private_preference_version(owner):
    dataset = datasets.dataset_create(owner=owner, name="alice-secret-plans", kind="preference")
    records = [{"prompt": f"{SECRET_PROMPT} ({n})", "chosen": SECRET_ANSWER, "rejected": "No idea."} for n in range(4)]
    file = file_store(
        owner=owner, stream=io.BytesIO("\n".join(map(json.dumps, records)).encode()), filename="plans.jsonl"
    )
    datasets.dataset_import_file(dataset=dataset, file=file, options={}, owner=owner)
    return datasets.dataset_version_create(dataset=dataset, user=owner, validation_fraction=0.5)


@pytest.fixture
def alices_evaluation(builtin, make_user, client_for):
    """Operator Alice evaluates the public built-in generator on her private dataset; the evaluation
    finishes with its samples (what the evaluation job stores) and metrics."""
    alice = make_user("operator", username="alice")
    version = private_preference_version(alice)
    response = client_for(alice).post(
        "/api/v1/evaluations/", {"generator": builtin.generator.slug, "dataset_version": str(version.pk)}, format="json"
    )
    assert response.status_code == 202, response.json()
    evaluation = Evaluation.objects.get(pk=response.json()["object"]["id"])
    Evaluation.objects.filter(pk=evaluation.pk).update(
        metrics={"perplexity": 17.5, "bleu": 3.1, "scored_items": 2},
        samples=[{"item": 1, "prompt": f"{SECRET_PROMPT} (1)", "references": [SECRET_ANSWER], "output": "Soon."}],
    )
    Job.objects.filter(pk=evaluation.job_id).update(status="succeeded", progress=1.0)
    return alice, version, evaluation


def test_creator_bob_cannot_read_alices_private_dataset_through_her_evaluation(
    alices_evaluation, builtin, make_user, client_for, client
):
    _, version, evaluation = alices_evaluation
    bob = make_user("creator", username="bob")
    as_bob = client_for(bob)
    # The dataset itself answers Bob 404 (it is Alice's).
    assert as_bob.get(f"/api/v1/datasets/{version.dataset_id}/").status_code in (403, 404)

    # When Bob lists the evaluations and reads Alice's one.
    listed = as_bob.get("/api/v1/evaluations/")
    alone = as_bob.get(f"/api/v1/evaluations/{evaluation.pk}/")
    filtered = as_bob.get("/api/v1/evaluations/", {"generator": builtin.generator.slug})

    # Then he sees that it exists and its metrics, but not one word of the dataset, nor its name.
    assert listed.status_code == alone.status_code == filtered.status_code == 200
    for body in (listed.content, alone.content, filtered.content):
        text = body.decode()
        assert "Nightjar" not in text and "alice-secret-plans" not in text
    seen = alone.json()
    assert seen["metrics"]["perplexity"] == 17.5
    assert (seen["samples"], seen["dataset"], seen["dataset_readable"]) == ([], None, False)

    # Nor on the evaluations page.
    client.force_login(bob)
    page = client.get("/evaluations/", {"generator": builtin.generator.slug}).content.decode()
    assert "17.5" in page and "Nightjar" not in page and "alice-secret-plans" not in page


def test_alice_and_admins_still_read_the_samples(alices_evaluation, admin_user, client_for, client, builtin):
    alice, _, evaluation = alices_evaluation
    for reader in (alice, admin_user):
        seen = client_for(reader).get(f"/api/v1/evaluations/{evaluation.pk}/").json()
        assert seen["dataset_readable"] is True and seen["dataset"] == "alice-secret-plans v1"
        assert seen["samples"][0]["references"] == [SECRET_ANSWER]
    client.force_login(alice)
    page = client.get("/evaluations/", {"generator": builtin.generator.slug}).content.decode()
    assert SECRET_ANSWER in page and "alice-secret-plans v1" in page
