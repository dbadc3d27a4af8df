"""A teacher, in the browser, in English and in Chinese: asks for a short lesson, watches its items
arrive as readable text (titles as titles, bullets as bullets, never JSON) with progress by item and
attempt, edits the slide in place (its checks run again), regenerates the quiz question, accepts the
slide, and downloads the lesson as PPTX (with the edited speaker notes) and as PDF."""

import io
import re

import pytest
from playwright.sync_api import expect

from applications.courseware.models import Lesson
from infrastructure.compute.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LOCALES = {"en": "en-US", "zh-hans": "zh-CN"}
WORDS = {
    "en": {
        "succeeded": "succeeded",
        "written": re.compile(r"\d of 4 items written"),
        "edited": "edited",
        "accepted": "accepted",
        "notes": "Slide 1 notes",
        "objective": "Objective: Explain why volcanoes erupt",
    },
    "zh-hans": {
        "succeeded": "已完成",
        "written": re.compile(r"已写完 \d / 4 项"),
        "edited": "已编辑",
        "accepted": "已采纳",
        "notes": "幻灯片 1 备注",
        "objective": "目标：Explain why volcanoes erupt",
    },
}
JSON_SYNTAX = re.compile(r'\{"|\["|":|"\s*,\s*"')


@pytest.fixture(params=list(LOCALES))
def teacher_in(request, browser, web, creator, password):
    context = browser.new_context(locale=LOCALES[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{web}/accounts/login/")
    page.fill("input[name=username]", creator.username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{web}/")
    yield request.param, page
    context.close()


def test_generate_edit_regenerate_accept_and_export(teacher_in, creator, worker, web, builtin):
    from pptx import Presentation

    language, page = teacher_in
    words = WORDS[language]
    page.goto(f"{web}/courseware/")
    assert page.get_attribute("html", "lang") == language
    page.fill("input[name=topic]", "Volcanoes")
    page.select_option("select[name=grade_level]", "6")
    page.fill("textarea[name=objectives]", "Explain why volcanoes erupt")
    page.fill("input[name=slide_count]", "1")
    page.fill("input[name=quiz_questions]", "1")
    page.click("#go")

    # Items are previewed as readable text while they are written, never as JSON
    live = page.get_by_test_id("live-item").first
    expect(live).not_to_have_text("", timeout=180_000)
    texts = set()
    for _ in range(10):
        if live.count():
            texts.add(live.inner_text())
        page.wait_for_timeout(150)
    assert all(not JSON_SYNTAX.search(text) for text in texts), texts
    expect(page.get_by_test_id("progress-text")).to_have_text(words["written"])
    # A slide being written shows its title as a heading (and then its bullets as a list)
    page.locator("#slides .live h4.slide-title").first.wait_for(timeout=240_000)

    expect(page.get_by_test_id("job-status")).to_have_text(words["succeeded"], timeout=420_000)
    expect(page.get_by_test_id("slide")).to_have_count(1)
    expect(page.get_by_test_id("question")).to_have_count(1)
    expect(page.get_by_test_id("lesson-plan")).to_contain_text(words["objective"])

    # Edit the slide in place: its checks run again and it says so
    slide = page.get_by_test_id("slide")
    slide.get_by_test_id("edit").click()
    page.get_by_label(words["notes"]).fill("Show a photo of an erupting volcano first.")
    slide.get_by_test_id("save-slide").click()
    expect(slide).to_contain_text(words["edited"], timeout=60_000)  # the checks load their word lists once
    lesson = Lesson.objects.get(owner=creator)
    assert (
        lesson.slides[0]["notes"] == "Show a photo of an erupting volcano first."
        and lesson.checks["slides"][0]["edited"]
    )

    # Accept the slide: the verdict shows and is kept on its checks entry
    slide.get_by_test_id("accept").click()
    expect(slide.get_by_test_id("verdict")).to_have_text(words["accepted"])
    lesson.refresh_from_db()
    assert lesson.checks["slides"][0]["review"]["verdict"] == "accepted"

    # Regenerate the quiz question: a job writes it again, and the page shows the new one
    page.get_by_test_id("question").get_by_test_id("regenerate").click()
    expect(page.get_by_test_id("job-status")).not_to_have_text(words["succeeded"])  # the page follows the new job
    expect(page.get_by_test_id("job-status")).to_have_text(words["succeeded"], timeout=300_000)
    page.get_by_test_id("question").get_by_test_id("regenerate").wait_for(timeout=30_000)
    again = Job.objects.get(owner=creator, kind="courseware-regenerate-question")
    assert again.status == "succeeded", again.error
    lesson.refresh_from_db()
    assert lesson.quiz[0]["question"] == again.result["question"]["question"]

    # Downloads: the PPTX opens with its cover, the slide (edited notes) and the quiz; the PDF is a PDF
    with page.expect_download() as download:
        page.click("#export-pptx")
    deck = Presentation(io.BytesIO(open(download.value.path(), "rb").read()))
    slides = list(deck.slides)
    assert len(slides) == 1 + 1 + 1
    # (a slide that failed its checks says so above the notes: exports mark failed items)
    assert slides[1].notes_slide.notes_text_frame.text.endswith("Show a photo of an erupting volcano first.")
    assert "AI-generated" in deck.core_properties.keywords
    with page.expect_download() as download:
        page.click("#export-pdf")
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
