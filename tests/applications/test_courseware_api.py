"""Courseware through the REST API and a real worker with the built-in SmolLM2: a small lesson is
written section by section and checked; edits, one slide written again, exports that open, and the
refusals (blocked content, a language without a generator, someone else's lesson)."""

import io
import re

import pytest
from django.conf import settings
from django.test import override_settings

from aigc_platform.audit.models import AuditEvent
from applications.courseware import authoring
from applications.courseware.models import Lesson
from infrastructure.compute.models import JobStatus
from tests.infrastructure.provenance_helpers import (
    assert_record_served,
    assert_xmp_names,
    front_matter,
    pdf_xmp,
    pptx_identifier,
    xmp_values,
)
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PLANTS = {
    "topic": "How plants grow",
    "grade_level": 4,
    "language": "en",
    "slide_count": 2,
    "quiz_questions": 2,
    "objectives": ["Name what a plant needs to grow", "Describe how a seed sprouts"],
}
ITEM_CHECKS = {
    "slides": {
        "complete",
        "bullet_count",
        "distinct_bullets",
        "no_repetition",
        "objective_covered",
        "reading_level",
        "content_filter",
    },
    "quiz": {
        "complete",
        "choice_count",
        "answer_in_choices",
        "distinct_choices",
        "distinct_question",
        "reading_level",
        "content_filter",
    },
}


def _finished(client, job_id, timeout=600):
    def done():
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(done, timeout=timeout, interval=0.5, what="the courseware job")


def _assert_well_formed(result):
    """The structure holds for every item; every item that reports passing really meets its checks."""
    plan = result["lesson_plan"]
    assert plan["objectives"] == PLANTS["objectives"] and len(plan["activities"]) == authoring.ACTIVITIES
    assert plan["total_minutes"] == sum(activity["minutes"] for activity in plan["activities"])
    assert len(result["slides"]) == 2 and len(result["quiz"]) == 2
    for slide in result["slides"]:
        assert slide["title"] and len(slide["bullets"]) == authoring.BULLETS_PER_SLIDE and slide["notes"]
    for item in result["quiz"]:
        assert len(item["choices"]) == 4 and item["answer"] in item["choices"] and item["explanation"]
    for section in ("slides", "quiz"):
        for entry in result["checks"][section]:
            # the section's own checks, and the content checks (tools_layer.quality), the language first
            assert ITEM_CHECKS[section] <= set(entry["checks"]) and "language" in entry["checks"]
            assert 1 <= entry["attempts"] <= settings.APPLICATIONS_MAX_ATTEMPTS and [
                t["attempt"] for t in entry["tries"]
            ] == list(range(1, entry["attempts"] + 1))
            assert all(try_["failed"] for try_ in entry["tries"][:-1])  # only a failed try is followed by another
            assert not entry["passed"] or not entry["tries"][-1]["failed"]  # a passing item is its last try
            assert entry["passed"] == all(check["passed"] for check in entry["checks"].values())
    for item, entry in zip(result["quiz"], result["checks"]["quiz"]):
        if entry["passed"]:
            assert len({choice.lower() for choice in item["choices"]}) == 4
    assert result["passed"] == all(
        entry["passed"]
        for entry in [result["checks"]["lesson_plan"], *result["checks"]["slides"], *result["checks"]["quiz"]]
    )


def test_a_teacher_generates_a_small_lesson_edits_it_regenerates_a_slide_and_exports_it(
    builtin, creator, other_creator, client_for, worker
):
    from pptx import Presentation

    client = client_for(creator)
    # When a teacher asks for a two-slide lesson with two quiz questions
    answer = client.post("/api/v1/courseware/", PLANTS, format="json")
    assert answer.status_code == 202, answer.content
    lesson_id = answer.json()["lesson_id"]
    assert (
        answer.json()["object"] == {"type": "lesson", "id": str(lesson_id)}
        and answer["Location"] == f"/api/v1/jobs/{answer.json()['id']}/"
    )
    job = _finished(client, answer.json()["id"])
    # then the job returns a plan, the slides and the quiz, each item with the checks it went through
    assert job["status"] == JobStatus.SUCCEEDED, job["error"]
    _assert_well_formed(job["result"])
    # and the lesson is stored, owned by the teacher
    lessons = client.get("/api/v1/courseware/").json()
    assert lessons["count"] == 1 and lessons["results"][0]["id"] == lesson_id
    assert lessons["results"][0]["slides"] == job["result"]["slides"]

    # Someone else sees none of it
    other = client_for(other_creator)
    assert other.get("/api/v1/courseware/").json()["count"] == 0
    assert other.get(f"/api/v1/courseware/{lesson_id}/").status_code == 404
    assert other.get(f"/api/v1/courseware/{lesson_id}/export/?format=pptx").status_code == 404
    assert other.patch(f"/api/v1/courseware/{lesson_id}/slides/0/", {"title": "Mine"}, format="json").status_code == 404

    # Editing: a slide changes in place and is checked again; a question must keep its answer among its choices
    edited = client.patch(
        f"/api/v1/courseware/{lesson_id}/slides/0/", {"notes": "Show a bean sprouting in a glass jar."}, format="json"
    )
    assert edited.status_code == 200, edited.content
    assert edited.json()["slides"][0]["notes"] == "Show a bean sprouting in a glass jar."
    assert edited.json()["checks"]["slides"][0]["edited"] is True
    choices = ["Water", "Light", "Soil", "Sand"]
    stray = client.patch(
        f"/api/v1/courseware/{lesson_id}/quiz/0/", {"choices": choices, "answer": "Air"}, format="json"
    )
    assert stray.status_code == 400 and "answer" in stray.json()["error"]["fields"]
    fixed = client.patch(
        f"/api/v1/courseware/{lesson_id}/quiz/0/",
        {"question": "What does a plant need to grow?", "choices": choices, "answer": "Light"},
        format="json",
    )
    assert fixed.status_code == 200 and fixed.json()["quiz"][0]["answer"] == "Light"
    assert (
        client.patch(f"/api/v1/courseware/{lesson_id}/quiz/5/", {"answer": "Light"}, format="json").status_code == 404
    )
    blocked_edit = client.patch(f"/api/v1/courseware/{lesson_id}/slides/1/", {"title": "kill yourself"}, format="json")
    assert blocked_edit.status_code == 400 and blocked_edit.json()["error"]["code"] == "content_blocked"
    assert AuditEvent.objects.filter(action="content.blocked", detail__where="courseware edit input").exists()

    # One slide written again by the generator, as a job; the others stay
    before = client.get(f"/api/v1/courseware/{lesson_id}/").json()
    again = client.post(f"/api/v1/courseware/{lesson_id}/slides/1/regenerate/")
    assert again.status_code == 202, again.content
    regenerated = _finished(client, again.json()["id"])
    assert regenerated["status"] == JobStatus.SUCCEEDED, regenerated["error"]
    after = client.get(f"/api/v1/courseware/{lesson_id}/").json()
    assert after["slides"][0] == before["slides"][0] and after["slides"][1] == regenerated["result"]["slide"]
    assert len(after["slides"][1]["bullets"]) == authoring.BULLETS_PER_SLIDE

    # Exports open and say the content is AI-generated
    pptx = client.get(f"/api/v1/courseware/{lesson_id}/export/?format=pptx")
    assert pptx.status_code == 200 and pptx["Content-Type"].startswith("application/vnd.openxmlformats")
    deck = Presentation(io.BytesIO(pptx.content))
    assert "AI-generated" in deck.core_properties.keywords and "AI-generated" in deck.core_properties.comments
    slides = list(deck.slides)
    assert len(slides) == 1 + 2 + 2  # cover, the lesson's slides, one per quiz question
    # The notes are the teacher's; a slide whose checks failed says so above them, one that passed does not
    notes = slides[1].notes_slide.notes_text_frame.text
    assert notes.endswith("Show a bean sprouting in a glass jar.")
    assert ("FAILED checks" in notes) == (not after["checks"]["slides"][0]["passed"])
    assert slides[2].shapes.title.text == after["slides"][1]["title"]
    markdown = client.get(f"/api/v1/courseware/{lesson_id}/export/?format=md").content.decode()
    assert "ai_generated: true" in markdown and "Show a bean sprouting in a glass jar." in markdown
    pdf = client.get(f"/api/v1/courseware/{lesson_id}/export/?format=pdf")
    assert pdf.content.startswith(b"%PDF") and b"AI-generated" in pdf.content
    gift = client.get(f"/api/v1/courseware/{lesson_id}/export/?format=gift").content.decode()
    assert gift.splitlines()[1].startswith("// AI-generated")
    questions = re.findall(r"^::Q\d+:: .*\{ (.*) \}$", gift, flags=re.MULTILINE)
    assert len(questions) == 2 and all(len(re.findall(r"(?<!\\)[=~]", q.split("####")[0])) == 4 for q in questions)
    assert "=Light" in questions[0]
    assert client.get(f"/api/v1/courseware/{lesson_id}/export/?format=docx").status_code == 400

    # Provenance: the lesson's record (the slide written again made its latest) is served to the
    # teacher only; each export names a record made from it, read back by libraries that did not write it
    lesson_record = assert_record_served(
        owner=creator,
        other=other_creator,
        record_id=regenerated["result"]["provenance_id"],
        kind="lesson",
        generator="smollm2-135m-instruct v1",
    )
    assert lesson_record["job"] == again.json()["id"] and job["result"]["provenance_id"] != lesson_record["id"]
    exported = {
        "pptx": pptx_identifier(pptx.content).removeprefix("urn:uuid:"),
        "md": front_matter(markdown)["provenance_id"],
        "pdf": xmp_values(pdf_xmp(pdf.content))["provenance_id"],
    }
    for fmt, record_id in exported.items():
        assert record_id == client.get(f"/api/v1/courseware/{lesson_id}/export/?format={fmt}")["X-Provenance-Id"]
        record = assert_record_served(
            owner=creator, other=other_creator, record_id=record_id, kind="export", generator="smollm2-135m-instruct v1"
        )
        assert record["parent"] == lesson_record["id"] and record["artifact_ref"] == f"lesson:{lesson_id}:{fmt}"
    assert_xmp_names(pdf_xmp(pdf.content), exported["pdf"])


def test_requests_that_cannot_be_served_are_refused_with_reasons(creator, client_for, builtin):
    client = client_for(creator)
    unknown = client.post("/api/v1/courseware/", {**PLANTS, "colour": "red"}, format="json")
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]["fields"]
    too_many = client.post("/api/v1/courseware/", {**PLANTS, "slide_count": 50}, format="json")
    assert too_many.status_code == 400 and "slide_count" in too_many.json()["error"]["fields"]
    # Chinese needs a generator named in the per-language setting
    chinese = client.post("/api/v1/courseware/", {**PLANTS, "language": "zh", "topic": "植物如何生长"}, format="json")
    assert chinese.status_code == 400 and chinese.json()["error"]["code"] == "no_generator_for_language"
    assert "APPLICATIONS_GENERATORS" in chinese.json()["error"]["message"]
    # Blocked content is refused, names the field, and is logged for admins
    blocked = client.post("/api/v1/courseware/", {**PLANTS, "objectives": ["Learn how to make a bomb"]}, format="json")
    assert blocked.status_code == 400 and blocked.json()["error"]["code"] == "content_blocked"
    assert "objectives" in blocked.json()["error"]["fields"]
    event = AuditEvent.objects.get(action="content.blocked", actor=creator)
    assert event.detail["where"] == "courseware input" and "make a bomb" in event.detail["terms"]
    assert not Lesson.objects.exists()
    assert client.get("/api/v1/courseware/999999/").status_code == 404


def test_a_chinese_lesson_takes_the_same_path_with_the_generator_the_setting_names(creator, client_for, builtin):
    client = client_for(creator)
    with override_settings(APPLICATIONS_GENERATORS={"en": builtin.generator.slug, "zh": builtin.generator.slug}):
        answer = client.post(
            "/api/v1/courseware/", {**PLANTS, "language": "zh", "topic": "植物如何生长"}, format="json"
        )
    assert answer.status_code == 202, answer.content
    lesson = Lesson.objects.get(pk=answer.json()["lesson_id"])
    assert lesson.language == "zh" and lesson.generator == f"{builtin.generator.slug} v{builtin.number}"
    assert answer.json()["kind"] == "courseware-generate" and answer.json()["params"]["version_id"] == builtin.pk
    # Nothing needs writing here: no worker serves this test, and the job is cancelled
    assert client.post(f"/api/v1/jobs/{answer.json()['id']}/cancel/").status_code in (200, 202)
