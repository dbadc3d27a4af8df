"""One-click actions on generated items through the REST API: accept or reject a variant, a slide or a
quiz question (a rejection needs a reason; each verdict becomes a judgement in the creator's labelling
project), an edit clears the verdict, a regenerate is refused while the generation is still written,
nobody else reaches another's items, and the schema documents every action. (Regenerating itself, with
the model, runs in the browser journeys.)"""

import pytest

from applications.courseware.models import Lesson
from applications.marketing.models import Generation, Variant
from infrastructure.compute.models import Job
from tools_layer.labeling.models import Annotation, LabelingTask

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("marketing_templates")]


@pytest.fixture
def variant(creator):
    from applications.marketing.models import Template

    generation = Generation.objects.create(
        owner=creator,
        template=Template.objects.get(slug="ad-headline"),
        product="Trail boots",
        audience="hikers",
        tone="bold",
        language="en",
        variant_count=2,
    )
    return Variant.objects.create(
        generation=generation, index=0, text="Dry feet on every trail", passed=True, attempts=1
    )


@pytest.fixture
def lesson(creator):
    return Lesson.objects.create(
        owner=creator,
        topic="Volcanoes",
        grade_level=6,
        objectives=["Explain why volcanoes erupt"],
        slide_count=1,
        quiz_questions=1,
        language="en",
        slides=[
            {"title": "Why volcanoes erupt", "bullets": ["Magma rises", "Pressure builds"], "notes": "Show a photo."}
        ],
        quiz=[
            {
                "question": "What rises in a volcano?",
                "choices": ["Magma", "Ice", "Sand", "Salt"],
                "answer": "Magma",
                "explanation": "Molten rock rises.",
            }
        ],
        checks={
            "slides": [{"checks": {}, "passed": True, "attempts": 1, "tries": []}],
            "quiz": [{"checks": {}, "passed": True, "attempts": 1, "tries": []}],
        },
    )


def test_a_variant_is_rejected_with_a_reason_that_labelling_keeps_and_accepted_after_an_edit(
    client_for, creator, variant
):
    client = client_for(creator)
    # A rejection without a reason is refused, with the field that is missing
    refused = client.post(f"/api/v1/marketing/variants/{variant.pk}/review/", {"verdict": "rejected"}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()["error"]["fields"]
    assert (
        client.post(f"/api/v1/marketing/variants/{variant.pk}/review/", {"verdict": "maybe"}, format="json").status_code
        == 400
    )
    # With one, the variant says so and labelling holds the judgement: a task answered "rejected" by the creator
    rejected = client.post(
        f"/api/v1/marketing/variants/{variant.pk}/review/",
        {"verdict": "rejected", "reason": "Never says waterproof"},
        format="json",
    )
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["review"] == "rejected" and rejected.json()["review_reason"] == "Never says waterproof"
    task = LabelingTask.objects.get(source__variant=variant.pk)
    assert (
        task.project.owner == creator
        and task.project.name == "Creator judgements"
        and task.project.labels == ["accepted", "rejected"]
    )
    assert task.payload["text"] == "Dry feet on every trail" and task.source["reason"] == "Never says waterproof"
    assert (
        Annotation.objects.get(task=task).value == {"label": "rejected"}
        and Annotation.objects.get(task=task).annotator == creator
    )
    # An edit clears the verdict (the text it judged is gone); the new text is accepted into the same project
    edited = client.patch(
        f"/api/v1/marketing/variants/{variant.pk}/", {"text": "Waterproof boots, dry feet"}, format="json"
    ).json()
    assert edited["review"] == "" and edited["edited"]
    accepted = client.post(
        f"/api/v1/marketing/variants/{variant.pk}/review/", {"verdict": "accepted"}, format="json"
    ).json()
    assert accepted["review"] == "accepted"
    judgements = LabelingTask.objects.filter(source__variant=variant.pk).order_by("pk")
    assert [task.payload["text"] for task in judgements] == ["Dry feet on every trail", "Waterproof boots, dry feet"]
    assert judgements[0].project_id == judgements[1].project_id


def test_a_variant_is_not_regenerated_while_its_generation_is_written(client_for, creator, variant):
    variant.generation.job = Job.objects.create(owner=creator, kind="marketing-generate", status="running", params={})
    variant.generation.save()
    answer = client_for(creator).post(f"/api/v1/marketing/variants/{variant.pk}/regenerate/")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "job_running"
    assert not Job.objects.filter(kind="marketing-regenerate-variant").exists()


def test_slides_and_questions_take_verdicts_kept_on_their_checks(client_for, creator, lesson):
    client = client_for(creator)
    slide = client.post(f"/api/v1/courseware/{lesson.pk}/slides/0/review/", {"verdict": "accepted"}, format="json")
    assert slide.status_code == 200, slide.content
    assert slide.json()["checks"]["slides"][0]["review"]["verdict"] == "accepted"
    question = client.post(
        f"/api/v1/courseware/{lesson.pk}/quiz/0/review/",
        {"verdict": "rejected", "reason": "Too easy for grade 6"},
        format="json",
    )
    assert question.json()["checks"]["quiz"][0]["review"] == {
        "verdict": "rejected",
        "reason": "Too easy for grade 6",
        "labeling_task": question.json()["checks"]["quiz"][0]["review"]["labeling_task"],
    }
    task = LabelingTask.objects.get(source__app="courseware", source__section="quiz")
    assert task.payload["text"].startswith("What rises in a volcano?") and "- Magma" in task.payload["text"]
    assert Annotation.objects.get(task=task).value == {"label": "rejected"}
    # The other items' checks are untouched, and an item that is not there is a 404
    assert (
        client.post(
            f"/api/v1/courseware/{lesson.pk}/quiz/3/review/", {"verdict": "accepted"}, format="json"
        ).status_code
        == 404
    )
    assert client.post(f"/api/v1/courseware/{lesson.pk}/slides/1/regenerate/").status_code == 404
    assert client.post(f"/api/v1/courseware/{lesson.pk}/quiz/1/regenerate/").status_code == 404
    # An edit replaces the entry, and with it the verdict
    edited = client.patch(
        f"/api/v1/courseware/{lesson.pk}/slides/0/", {"notes": "Start with a photo."}, format="json"
    ).json()
    assert (
        "review" not in edited["checks"]["slides"][0] and edited["checks"]["quiz"][0]["review"]["verdict"] == "rejected"
    )


def test_nobody_else_reviews_or_regenerates_anothers_items(client_for, other_creator, variant, lesson):
    other = client_for(other_creator)
    for path in (
        f"/api/v1/marketing/variants/{variant.pk}/review/",
        f"/api/v1/courseware/{lesson.pk}/slides/0/review/",
        f"/api/v1/courseware/{lesson.pk}/quiz/0/review/",
    ):
        assert other.post(path, {"verdict": "accepted"}, format="json").status_code == 404, path
    for path in (
        f"/api/v1/marketing/variants/{variant.pk}/regenerate/",
        f"/api/v1/courseware/{lesson.pk}/quiz/0/regenerate/",
    ):
        assert other.post(path).status_code == 404, path
    assert not LabelingTask.objects.exists() and not Job.objects.exists()


def test_the_schema_documents_every_item_action(client_for, creator):
    schema = client_for(creator).get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/marketing/variants/{id}/review/",
        "/api/v1/marketing/variants/{id}/regenerate/",
        "/api/v1/courseware/{id}/slides/{index}/review/",
        "/api/v1/courseware/{id}/quiz/{index}/review/",
        "/api/v1/courseware/{id}/quiz/{index}/regenerate/",
    ):
        assert "post" in schema["paths"][path], path
    review = schema["components"]["schemas"]["ItemVerdictRequest"]
    assert review["required"] == ["verdict"] and schema["components"]["schemas"]["VerdictEnum"]["enum"] == [
        "accepted",
        "rejected",
    ]
