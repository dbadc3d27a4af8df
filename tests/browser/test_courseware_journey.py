"""A teacher writes a lesson on the courseware page: slides appear as they are written, then the
lesson is edited and downloaded as a PPTX that opens with its speaker notes."""
import io

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def builtin(db):
    """The built-in SmolLM2 generator, which writes English courseware."""
    from models_layer.registry.services import generators_bootstrap

    return generators_bootstrap()


def test_a_teacher_generates_a_five_slide_lesson_with_a_quiz_and_downloads_the_pptx(sign_in, creator, worker, web, builtin):
    from pptx import Presentation

    page = sign_in(creator)
    page.click("nav >> text=Courseware")
    page.wait_for_url(f"{web}/courseware/")
    # When the teacher asks for a five-slide lesson with a four-question quiz
    page.fill("input[name=topic]", "Volcanoes")
    page.select_option("select[name=grade_level]", "6")
    page.fill("textarea[name=objectives]", "Explain why volcanoes erupt\nName the parts of a volcano")
    page.fill("input[name=slide_count]", "5")
    page.fill("input[name=quiz_questions]", "4")
    page.click("#go")
    # then slides show up while the job is still running (tokens stream into each slide's preview)
    expect(page.locator("#slides .live").first).not_to_be_empty(timeout=120_000)
    assert page.get_by_test_id("job-status").inner_text() == "running"
    # and when the job ends, every slide and question is there, editable, with its checks
    expect(page.get_by_test_id("job-status")).to_have_text("succeeded", timeout=420_000)
    expect(page.get_by_test_id("slide")).to_have_count(5)
    expect(page.get_by_test_id("question")).to_have_count(4)
    expect(page.get_by_test_id("lesson-plan")).to_contain_text("Objective: Explain why volcanoes erupt")
    # An edit to the first slide's notes is saved
    page.fill("textarea[aria-label='Slide 1 notes']", "Show a photo of an erupting volcano first.")
    page.locator("[data-testid=slide]").first.get_by_role("button", name="Save slide").click()
    expect(page.locator("[data-testid=slide]").first).to_contain_text("edited")
    # The PPTX download opens: a cover, five slides with speaker notes, four quiz slides, an AI disclosure
    with page.expect_download() as download:
        page.click("#export-pptx")
    deck = Presentation(io.BytesIO(open(download.value.path(), "rb").read()))
    slides = list(deck.slides)
    assert len(slides) == 1 + 5 + 4
    assert slides[1].notes_slide.notes_text_frame.text == "Show a photo of an erupting volcano first."
    assert all(slide.notes_slide.notes_text_frame.text.strip() for slide in slides[1:])
    assert "AI-generated" in deck.core_properties.keywords
