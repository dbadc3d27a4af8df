"""Issue 21, finding 6: pre-annotation never worked (it called a registry service that does not
exist, and every job failed). End to end on real servers: the built-in SmolLM2 on a real inference
worker proposes labels, annotators see a proposal on their task and accept it (or correct it), and
the project's agreement counts those answers, and how many took the proposal."""

import io
import json

import pytest
from django.conf import settings

from infrastructure.compute.models import Job
from infrastructure.storage.services import file_store
from tests.processes import wait_for
from tools_layer.datasets import services as dataset_services
from tools_layer.labeling.models import Annotation, LabelingTask

pytestmark = pytest.mark.django_db(transaction=True)

REVIEWS = [
    "I love these boots, they are comfortable and kept my feet dry all day.",
    "Terrible. The sole came off after one week and support never answered.",
    "Great value, fast delivery, would buy again.",
]


def _finished(client, job_id):
    def done():
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(done, timeout=300, interval=0.5, what="the pre-annotation job")


@pytest.fixture
def project(builtin, operator, make_user, client_for):
    dataset = dataset_services.dataset_create(owner=operator, name="reviews", kind="text")
    data = "\n".join(json.dumps({"text": text}) for text in REVIEWS).encode()
    dataset_services.dataset_import_file(
        dataset=dataset,
        file=file_store(owner=operator, stream=io.BytesIO(data), filename="r.jsonl"),
        options={},
        owner=operator,
    )
    version = dataset_services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0)
    annotators = [make_user("creator"), make_user("creator")]
    response = client_for(operator).post(
        "/api/v1/labeling/projects/",
        {
            "name": "sentiment",
            "task_type": "single_label",
            "labels": ["positive", "negative"],
            "overlap": 2,
            "dataset_version": str(version.pk),
            "annotators": [user.username for user in annotators],
            "instructions": "Is the customer happy (positive) or unhappy (negative)?",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"], annotators


def test_a_generator_proposes_labels_annotators_accept_them_and_the_agreement_counts_them(
    project, builtin, operator, client_for, inference_worker
):
    project_id, (first, second) = project
    owner = client_for(operator)
    # Refusals come before any job: a creator may not run it, and an unknown generator is a 400.
    assert (
        client_for(first)
        .post(
            f"/api/v1/labeling/projects/{project_id}/pre-annotate/",
            {"generator": builtin.generator.slug},
            format="json",
        )
        .status_code
        == 403
    )
    unknown = owner.post(
        f"/api/v1/labeling/projects/{project_id}/pre-annotate/", {"generator": "no-such"}, format="json"
    )
    assert unknown.status_code == 400 and "generator" in unknown.json()["error"]["fields"]

    # When the operator runs pre-annotation with the built-in generator.
    response = owner.post(
        f"/api/v1/labeling/projects/{project_id}/pre-annotate/",
        {"generator": builtin.generator.slug, "max_tasks": 3},
        format="json",
    )
    assert response.status_code == 202, response.content
    assert Job.objects.get(pk=response.json()["id"]).queue == settings.GENERATION_QUEUE
    job = _finished(owner, response.json()["id"])

    # Then every task has a proposal that is one of the project's labels.
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["proposed"] == job["result"]["tasks"] == 3
    proposals = list(LabelingTask.objects.filter(project_id=project_id).values_list("proposal", flat=True))
    assert all(proposal["label"] in ("positive", "negative") for proposal in proposals)

    # Each annotator sees the first task's proposal and accepts it as it is.
    for annotator in (first, second):
        task = client_for(annotator).post(f"/api/v1/labeling/projects/{project_id}/next-task/").json()
        assert task["proposal"] in ({"label": "positive"}, {"label": "negative"})
        accepted = client_for(annotator).post(
            f"/api/v1/labeling/tasks/{task['id']}/annotations/", {"value": task["proposal"]}, format="json"
        )
        assert accepted.status_code == 201
    # The first annotator corrects the next proposal instead.
    task = client_for(first).post(f"/api/v1/labeling/projects/{project_id}/next-task/").json()
    other = "negative" if task["proposal"]["label"] == "positive" else "positive"
    assert (
        client_for(first)
        .post(f"/api/v1/labeling/tasks/{task['id']}/annotations/", {"value": {"label": other}}, format="json")
        .status_code
        == 201
    )

    # The agreement counts the accepted answers: the two annotators agree on the shared task, and two
    # of three answers took the proposal.
    agreement = owner.get(f"/api/v1/labeling/projects/{project_id}/agreement/").json()
    assert (agreement["tasks_with_overlap"], agreement["percent_agreement"]) == (1, 1.0)
    assert agreement["proposals"] == {"answers": 3, "accepted": 2, "acceptance": pytest.approx(2 / 3)}

    # A second run proposes nothing new: every task has its proposal already.
    again = _finished(
        owner,
        owner.post(
            f"/api/v1/labeling/projects/{project_id}/pre-annotate/",
            {"generator": builtin.generator.slug},
            format="json",
        ).json()["id"],
    )
    assert again["result"]["tasks"] == 0


def test_the_project_page_offers_pre_annotation_to_its_owner(project, builtin, operator, client):
    project_id, (annotator, _) = project
    client.force_login(operator)
    page = client.get(f"/labeling/{project_id}/").content.decode()
    assert 'id="preannotate"' in page and builtin.generator.slug in page
    client.force_login(annotator)
    assert 'id="preannotate"' not in client.get(f"/labeling/{project_id}/").content.decode()


@pytest.mark.browser
def test_in_the_browser_the_owner_runs_it_and_the_annotator_accepts_a_proposal_with_enter(
    project, builtin, operator, sign_in, web, inference_worker
):
    project_id, (annotator, _) = project
    # The owner picks the generator on the project page and follows the job to its end.
    page = sign_in(operator)
    page.goto(f"{web}/labeling/{project_id}/")
    page.locator("#agreement").filter(has_text="Tasks with overlap").wait_for()  # the page's script is running
    page.select_option("#preannotate select[name=generator]", builtin.generator.slug)
    page.fill("#preannotate input[name=max_tasks]", "2")
    page.click("#preannotate button[type=submit]")
    page.locator("#preannotate-result").filter(has_text="Proposed answers for 2 of 2 tasks").wait_for(timeout=240_000)

    # The annotator sees the first task's proposal highlighted, and Enter accepts it.
    page.context.clear_cookies()
    page = sign_in(annotator)
    page.goto(f"{web}/labeling/{project_id}/label/")
    page.locator("#task-note").filter(has_text="proposal").wait_for()
    first = LabelingTask.objects.filter(project_id=project_id).order_by("id").first()
    page.locator("#choices button.proposed").filter(has_text=first.proposal["label"]).wait_for()
    page.keyboard.press("Enter")
    wait_for(
        lambda: Annotation.objects.filter(task=first, annotator=annotator).first(),
        timeout=15,
        interval=0.2,
        what="the accepted proposal",
    )
    assert Annotation.objects.get(task=first, annotator=annotator).value == first.proposal
