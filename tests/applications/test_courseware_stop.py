"""A lesson stopped from the API (as the page's Stop does) keeps what was written and says what was
not: the job ends cancelled, the finished items stay on the lesson, and `checks.not_written` names
the rest. A real worker writes it with the built-in SmolLM2."""

import pytest

from applications.courseware.models import Lesson
from infrastructure.compute.models import JobStatus
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stopped_lesson_keeps_its_written_items_and_names_the_rest(creator, client_for, worker, builtin):
    client = client_for(creator)
    answer = client.post(
        "/api/v1/courseware/",
        {
            "topic": "Volcanoes",
            "grade_level": 6,
            "language": "en",
            "slide_count": 2,
            "quiz_questions": 2,
            "objectives": ["Explain why volcanoes erupt"],
        },
        format="json",
    )
    assert answer.status_code == 202, answer.content
    job_id, lesson_id = answer.json()["id"], answer.json()["lesson_id"]

    # When the first item is stored (the lesson row shows it), the teacher stops the job
    def something_written():
        lesson = Lesson.objects.get(pk=lesson_id)
        return lesson if lesson.checks.get("outline") or lesson.lesson_plan or lesson.slides or lesson.quiz else None

    wait_for(
        something_written, timeout=600, interval=0.5, what="a first written item (the outline of titles, or any other)"
    )
    assert client.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200

    def ended():
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    job = wait_for(ended, timeout=120, interval=0.5, what="the stop")
    assert job["status"] == JobStatus.CANCELLED, job
    # then what was written is kept, and the rest is named as not written
    lesson = Lesson.objects.get(pk=lesson_id)
    missing = lesson.checks["not_written"]
    assert bool(lesson.lesson_plan) != missing["lesson_plan"]
    assert len(lesson.slides) + len(missing["slides"]) == 2
    assert len(lesson.quiz) + missing["quiz"] == 2
    assert len(lesson.slides) < 2 or len(lesson.quiz) < 2 or missing["lesson_plan"]
    assert len(lesson.checks["slides"]) == len(lesson.slides) and len(lesson.checks["quiz"]) == len(lesson.quiz)
    # and the page's view of it (the API) answers
    assert client.get(f"/api/v1/courseware/{lesson_id}/").status_code == 200
