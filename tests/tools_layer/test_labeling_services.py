"""Labeling through its API: next-task locking and overlap, annotations, undo, review, agreement,
outputs sent for rating, and export (run in-process through the service the export job calls)."""

import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from infrastructure.storage.selectors import file_get, file_open
from infrastructure.storage.services import file_store
from tools_layer.datasets import services as dataset_services
from tools_layer.datasets.selectors import dataset_version_items
from tools_layer.labeling import services
from tools_layer.labeling.models import LabelingTask, TaskSlot

pytestmark = pytest.mark.django_db


def text_version(owner, texts):
    dataset = dataset_services.dataset_create(owner=owner, name=f"d{len(texts)}", kind="text")
    data = "\n".join(json.dumps({"text": t}) for t in texts).encode()
    file = file_store(owner=owner, stream=io.BytesIO(data), filename="d.jsonl")
    dataset_services.dataset_import_file(dataset=dataset, file=file, options={}, owner=owner)
    return dataset_services.dataset_version_create(dataset=dataset, user=owner, validation_fraction=0)


@pytest.fixture
def project_for(operator, client_for):
    def make(texts=("one", "two", "three"), annotators=(), **fields):
        version = text_version(operator, list(texts))
        body = {
            "name": "p",
            "task_type": "single_label",
            "labels": ["pos", "neg"],
            "dataset_version": str(version.pk),
            "annotators": [user.username for user in annotators],
            **fields,
        }
        response = client_for(operator).post("/api/v1/labeling/projects/", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    return make


def next_task(client, project):
    response = client.post(f"/api/v1/labeling/projects/{project}/next-task/")
    return None if response.status_code == 204 else response.json()


def answer(client, task_id, label):
    return client.post(f"/api/v1/labeling/tasks/{task_id}/annotations/", {"value": {"label": label}}, format="json")


def test_two_annotators_get_different_tasks_and_a_reload_returns_the_same_one(project_for, make_user, client_for):
    alice, bob = make_user("creator"), make_user("creator")
    project = project_for(annotators=[alice, bob])
    a, b = client_for(alice), client_for(bob)
    first_a, first_b = next_task(a, project), next_task(b, project)
    assert first_a["id"] != first_b["id"]
    assert first_a["content"]["text"] == "one" and first_b["content"]["text"] == "two"
    assert next_task(a, project)["id"] == first_a["id"]
    assert answer(a, first_a["id"], "pos").status_code == 201
    assert next_task(a, project)["content"]["text"] == "three"
    # Nothing left for bob but his own task; then nothing at all.
    assert next_task(b, project)["id"] == first_b["id"]
    assert answer(b, first_b["id"], "neg").status_code == 201
    assert next_task(b, project) is None


def test_an_expired_lock_lets_someone_else_take_the_task(project_for, make_user, client_for):
    alice, bob = make_user("creator"), make_user("creator")
    project = project_for(texts=["only"], annotators=[alice, bob])
    task = next_task(client_for(alice), project)
    assert next_task(client_for(bob), project) is None
    TaskSlot.objects.filter(task_id=task["id"]).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert next_task(client_for(bob), project)["id"] == task["id"]
    late = answer(client_for(alice), task["id"], "pos")
    assert late.status_code == 409 and late.json()["error"]["code"] == "task_not_reserved"


def test_a_second_answer_replaces_the_first_and_an_unasked_task_takes_a_free_slot(project_for, make_user, client_for):
    alice = make_user("creator")
    project = project_for(texts=["one", "two"], annotators=[alice])
    a = client_for(alice)
    task = next_task(a, project)
    first = answer(a, task["id"], "pos").json()
    # Given an answer, when alice answers again, then it is the same annotation with the new value.
    second = answer(a, task["id"], "neg").json()
    assert (second["id"], second["value"]) == (first["id"], {"label": "neg"})
    # Given a task alice never asked for, when she answers it, then its free slot is hers.
    other = LabelingTask.objects.filter(project_id=project).exclude(pk=task["id"]).get()
    assert answer(a, other.pk, "pos").status_code == 201
    assert TaskSlot.objects.get(task=other).annotator_id == alice.pk
    assert next_task(a, project) is None


def test_next_task_and_its_answer_stay_within_their_query_budget(
    project_for, make_user, client_for, django_assert_max_num_queries
):
    """They are most of a labeling team's requests (bench/datasets.py). next-task: the token, the project
    and the membership check, the reservation, the task's content. The answer: the token, the task and
    the membership check, its slot and the annotation, in a savepoint here (a transaction when served)."""
    alice = make_user("creator")
    project = project_for(annotators=[alice])
    a = client_for(alice)
    with django_assert_max_num_queries(5):
        task = next_task(a, project)
    with django_assert_max_num_queries(7):
        assert answer(a, task["id"], "pos").status_code == 201


def test_outsiders_cannot_see_a_project(project_for, make_user, client_for):
    project = project_for()
    response = client_for(make_user("creator")).post(f"/api/v1/labeling/projects/{project}/next-task/")
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_next_task_never_hands_one_task_to_two_people(operator, make_user):
    version = text_version(operator, [f"text {n}" for n in range(30)])
    users = [make_user("creator") for _ in range(12)]
    project = services.project_create(
        owner=operator, name="p", task_type="rating", dataset_version=version, annotators=[u.username for u in users]
    )

    def take(user):
        try:
            slot = services.task_next(project=project, user=user)
            return slot.task_id
        finally:
            connection.close()

    with ThreadPoolExecutor(12) as pool:
        taken = list(pool.map(take, users))
    assert len(set(taken)) == 12


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_one_person_asking_twice_at_once_holds_one_place_and_answering_twice_at_once_keeps_one_answer(
    operator, make_user
):
    # Given a project where two people answer each task, and one annotator who clicks twice
    version = text_version(operator, [f"text {n}" for n in range(5)])
    user = make_user("creator")
    project = services.project_create(
        owner=operator, name="p", task_type="rating", dataset_version=version, annotators=[user.username], overlap=2
    )

    def in_thread(action):
        try:
            return action()
        finally:
            connection.close()

    for _ in range(5):
        # When both requests for a task arrive at the same moment, they get the same task, in one place
        with ThreadPoolExecutor(2) as pool:
            taken = list(
                pool.map(lambda _: in_thread(lambda: services.task_next(project=project, user=user).task_id), range(2))
            )
        assert taken[0] == taken[1]
        assert TaskSlot.objects.filter(task_id=taken[0], annotator=user).count() == 1
        # And two answers at the same moment leave one answer (the later one replaces the earlier)
        task = LabelingTask.objects.get(pk=taken[0])
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(
                    lambda rating: in_thread(
                        lambda: services.annotation_submit(task=task, user=user, value={"rating": rating})  # noqa: B023
                    ),
                    (2, 4),
                )
            )
        assert answers[0].pk == answers[1].pk
        assert task.annotations.filter(annotator=user).count() == 1


def test_overlap_undo_review_agreement_and_export(project_for, make_user, client_for, operator):
    alice, bob = make_user("creator"), make_user("creator")
    project = project_for(texts=["good", "bad"], annotators=[alice, bob], overlap=2)
    a, b, owner = client_for(alice), client_for(bob), client_for(operator)
    # With overlap 2 both people get the same first task.
    ta, tb = next_task(a, project), next_task(b, project)
    assert ta["id"] == tb["id"]
    wrong = answer(a, ta["id"], "neg").json()
    # Undo: the answer is withdrawn and the task comes back to alice to answer again.
    undone = a.delete(f"/api/v1/labeling/annotations/{wrong['id']}/")
    assert undone.status_code == 200 and undone.json()["id"] == ta["id"] and undone.json()["my_annotation"] is None
    assert answer(a, ta["id"], "pos").status_code == 201
    assert answer(b, tb["id"], "pos").status_code == 201
    second_a = next_task(a, project)
    assert answer(a, second_a["id"], "neg").status_code == 201
    rejected = answer(b, next_task(b, project)["id"], "pos").json()

    agreement = owner.get(f"/api/v1/labeling/projects/{project}/agreement/").json()
    assert agreement["tasks_with_overlap"] == 2 and agreement["percent_agreement"] == 0.5
    assert agreement["cohen_pairs"][0]["tasks"] == 2

    # Review: bob's rejected answer sends his slot back to the queue.
    assert (
        b.post(
            f"/api/v1/labeling/annotations/{rejected['id']}/review/", {"decision": "accept"}, format="json"
        ).status_code
        == 403
    )
    review = owner.post(f"/api/v1/labeling/annotations/{rejected['id']}/review/", {"decision": "reject"}, format="json")
    assert review.json()["status"] == "rejected"
    assert next_task(b, project)["id"] == second_a["id"]
    progress = owner.get(f"/api/v1/labeling/projects/{project}/progress/").json()
    assert (progress["tasks_done"], progress["annotations_done"], progress["rejected"]) == (1, 3, 1)

    # Export: consensus labels into a new dataset version, and as JSONL.
    project_row = services.LabelingProject.objects.get(pk=project)
    result = services.project_export_run(project=project_row, owner=operator, options={"format": "dataset"})
    version = dataset_services.DatasetVersion.objects.get(pk=result["version"])
    assert sorted((e.text, e.label) for e in dataset_version_items(version=version)) == [
        ("bad", "neg"),
        ("good", "pos"),
    ]
    result = services.project_export_run(project=project_row, owner=operator, options={"format": "jsonl"})
    with file_open(file=file_get(user=operator, pk=result["file"])) as stream:
        rows = [json.loads(line) for line in stream.read().splitlines()]
    assert [(r["content"]["text"], r["label"], len(r["annotations"])) for r in rows] == [
        ("good", "pos", 2),
        ("bad", "neg", 1),
    ]


def test_generated_outputs_are_sent_for_rating(operator, client_for):
    owner = client_for(operator)
    project = owner.post("/api/v1/labeling/projects/", {"name": "ratings", "task_type": "rating"}, format="json").json()
    project_row = services.LabelingProject.objects.get(pk=project["id"])
    tasks = services.outputs_send_for_rating(
        project=project_row, outputs=[{"text": "Buy our tea!", "prompt": "ad"}], source={"app": "marketing"}
    )
    task = next_task(owner, project["id"])
    assert task["id"] == tasks[0].pk and task["content"] == {"kind": "text", "text": "Buy our tea!", "prompt": "ad"}
    bad = owner.post(f"/api/v1/labeling/tasks/{task['id']}/annotations/", {"value": {"rating": 9}}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_annotation"
    assert (
        owner.post(
            f"/api/v1/labeling/tasks/{task['id']}/annotations/", {"value": {"rating": 4}}, format="json"
        ).status_code
        == 201
    )
    assert LabelingTask.objects.get(pk=task["id"]).source == {"app": "marketing"}
