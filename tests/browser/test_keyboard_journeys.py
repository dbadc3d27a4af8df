"""The creator journeys by keyboard alone, in Chromium: Tab, Shift+Tab, Enter, Space and Escape, no
mouse, and a visible focus ring on every stop. Marketing: fill the form, generate, stop, regenerate a
variant, reject it (Escape closes the reason), accept it, edit it, export the CSV. Courseware: fill the
form, generate, stop, open a lesson from the history, edit a slide (Escape closes the editor),
regenerate a question, export the PPTX. Focus never falls back to the top of the page when the control
that held it goes away (Stop hides, a card is written again, the history is redrawn).

Lean on purpose: each journey runs the model once (one short variant, one question): the generation
the form starts is stopped at once, and the lesson whose items are edited is one the test stores."""

import csv
import importlib
import io

import pytest
from django.apps import apps
from playwright.sync_api import expect

from applications.courseware.models import Lesson
from applications.marketing.models import Variant
from infrastructure.compute.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FOCUS_STATE = """() => {
  const node = document.activeElement;
  if (!node || node === document.body) return {lost: true};
  const style = getComputedStyle(node);
  return {
    lost: false,
    visible: node.matches(":focus-visible") && style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
    what: `${node.tagName.toLowerCase()}#${node.id}[${node.dataset.testid || node.name || ""}]`,
  };
}"""


def focused(page, selector: str) -> bool:
    return page.evaluate("(s) => document.activeElement.matches(s)", selector)


def assert_focus_ring(page):
    state = page.evaluate(FOCUS_STATE)
    assert not state["lost"], "focus fell back to the page"
    assert state["visible"], f"no visible focus ring on {state['what']}"


def tab_to(page, selector: str, *, backwards: bool = False, limit: int = 80):
    """Press Tab (Shift+Tab) until the focused element matches `selector`; every stop on the way shows
    a focus ring. Fails when the element cannot be reached by keyboard."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate(FOCUS_STATE)["lost"]:
            continue  # past the page's last stop, focus goes to the browser's own controls and comes round again
        assert_focus_ring(page)
        if focused(page, selector):
            return
    raise AssertionError(f"{selector} is not reached by {key} within {limit} presses")


@pytest.fixture
def keyboard_page(browser, web, password):
    context = browser.new_context(locale="en-US", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def sign_in(user):
        page.goto(f"{web}/accounts/login/")
        expect(page.locator("input[name=username]")).to_be_focused()  # autofocus
        page.keyboard.type(user.username)
        page.keyboard.press("Tab")
        page.keyboard.type(password)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == f"{web}/"
        return page

    yield sign_in
    context.close()
    assert errors == []


@pytest.fixture
def templates(db):
    # A transactional test's flush empties the tables the migrations seeded; seed them as they do.
    importlib.import_module("applications.marketing.migrations.0002_seed_templates").seed(apps, None)
    importlib.import_module("applications.marketing.migrations.0003_plain_prompts").refresh(apps, None)


def test_marketing_by_keyboard_alone(keyboard_page, creator, builtin, templates, worker, web, tmp_path):
    page = keyboard_page(creator)
    page.goto(f"{web}/marketing/")
    # Fill the form: the template by typing its name, text by typing, a number and a length by arrows
    tab_to(page, "#template")
    page.keyboard.type("Ad headline")
    assert page.input_value("#template") == "ad-headline"
    tab_to(page, "textarea[name=product]")
    page.keyboard.type("Trailblazer waterproof hiking boots")
    page.keyboard.press("Tab")
    page.keyboard.type("weekend hikers")
    tab_to(page, "input[name=variants]")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowUp")  # medium -> short
    assert page.input_value("select[name=length]") == "short"
    tab_to(page, "#go")
    page.keyboard.press("Enter")

    # The job starts; Stop is the next stop after Generate, and Enter on it cancels the request
    expect(page.get_by_test_id("stop")).to_be_visible()
    tab_to(page, "#stop")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("job-status")).to_have_text("cancelled", timeout=60_000)
    # Stop hid itself: focus went to the variants' heading, not back to the top of the page
    expect(page.locator("#variants-heading")).to_be_focused()
    assert_focus_ring(page)

    # Regenerate the first variant (Space presses a button): focus waits on Stop, then lands on its new text
    tab_to(page, '[data-index="0"] [data-testid=regenerate]')
    page.keyboard.press(" ")
    expect(page.get_by_test_id("stop")).to_be_focused()
    first = page.locator('[data-testid=variant][data-index="0"]')
    expect(first).to_be_visible(timeout=300_000)
    expect(first.get_by_test_id("variant-text")).to_be_focused()
    assert_focus_ring(page)
    variant = Variant.objects.get(generation__owner=creator, index=0)
    assert variant.text and variant.attempts >= 1

    # Reject: Enter opens the reason, Escape closes it and gives focus back to Reject; then a reason and Enter
    tab_to(page, '[data-index="0"] [data-testid=reject]')
    page.keyboard.press("Enter")
    expect(first.get_by_test_id("reject-reason")).to_be_focused()
    page.keyboard.press("Escape")
    expect(first.get_by_test_id("reject-reason")).to_be_hidden()
    expect(first.get_by_test_id("reject")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.type("Too vague")
    page.keyboard.press("Enter")
    expect(first.get_by_test_id("verdict")).to_have_text("rejected: Too vague")
    # Accept is one Shift+Tab before Reject
    tab_to(page, '[data-index="0"] [data-testid=accept]', backwards=True)
    page.keyboard.press("Enter")
    expect(first.get_by_test_id("verdict")).to_have_text("accepted")
    variant.refresh_from_db()
    assert variant.review == "accepted"

    # Edit in place: back to the text, type, on to Save
    tab_to(page, '[data-index="0"] [data-testid=variant-text]', backwards=True)
    page.keyboard.press("Control+A")
    page.keyboard.type("Dry feet on every trail")
    tab_to(page, '[data-index="0"] [data-testid=save-edit]')
    page.keyboard.press("Enter")
    expect(first.get_by_test_id("variant-note")).to_have_text("Saved; its checks ran again.", timeout=60_000)
    expect(first.get_by_test_id("save-edit")).to_be_focused()
    variant.refresh_from_db()
    assert (variant.text, variant.edited) == ("Dry feet on every trail", True)

    # Export: Enter on the link downloads the CSV with the edited text
    tab_to(page, "#export-csv")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    path = tmp_path / "copy.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows[0]["text"] == "Dry feet on every trail"


def test_courseware_by_keyboard_alone(keyboard_page, creator, builtin, worker, web):
    from pptx import Presentation

    lesson = Lesson.objects.create(
        owner=creator,
        topic="Volcanoes",
        grade_level=6,
        objectives=["Explain why volcanoes erupt"],
        slide_count=1,
        quiz_questions=1,
        language="en",
        lesson_plan={
            "objectives": ["Explain why volcanoes erupt"],
            "overview": "Why magma rises and what happens when it reaches the surface.",
            "activities": [{"name": "Model eruption", "minutes": 20, "description": "Build a model volcano."}],
            "total_minutes": 20,
        },
        slides=[
            {
                "title": "Inside a volcano",
                "bullets": ["Magma rises through cracks", "Pressure builds under the crust"],
                "notes": "Start with a photo.",
            }
        ],
        quiz=[
            {
                "question": "What makes magma rise?",
                "choices": ["It is lighter than the rock around it", "The wind", "The moon", "Rain"],
                "answer": "It is lighter than the rock around it",
                "explanation": "Hot magma is less dense than solid rock.",
            }
        ],
        checks={
            "slides": [{"checks": {}, "passed": True, "attempts": 1}],
            "quiz": [{"checks": {}, "passed": True, "attempts": 1}],
        },
    )
    page = keyboard_page(creator)
    page.goto(f"{web}/courseware/")

    # Fill the form and generate; Stop cancels it, and focus goes to the lesson's heading
    tab_to(page, "input[name=topic]")
    page.keyboard.type("Tides")
    tab_to(page, "textarea[name=objectives]")
    page.keyboard.type("Explain what the moon does to the sea")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    tab_to(page, "#go")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stop")).to_be_visible()
    tab_to(page, "#stop")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("job-status")).to_have_text("cancelled", timeout=60_000)
    expect(page.locator("#lesson-heading")).to_be_focused()
    assert Lesson.objects.filter(owner=creator, topic="Tides").exists()

    # Open the stored lesson from the history: focus goes to the lesson, not to the redrawn table
    tab_to(page, "#history tr:last-child a")  # the newest first: the stopped lesson, then the stored one
    assert page.evaluate("document.activeElement.textContent") == "Volcanoes"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("slide")).to_have_count(1)
    expect(page.locator("#lesson-heading")).to_be_focused()

    # Edit the slide: Enter opens the editor on its title, Escape closes it back to Edit
    slide = page.get_by_test_id("slide")
    tab_to(page, "[data-testid=slide] [data-testid=edit]")
    page.keyboard.press("Enter")
    expect(slide.locator("input[name=title]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(slide.locator(".editor")).to_be_hidden()
    expect(slide.get_by_test_id("edit")).to_be_focused()
    page.keyboard.press("Enter")
    tab_to(page, "[data-testid=slide] textarea[name=notes]")
    page.keyboard.press("Control+A")
    page.keyboard.type("Show a photo of an erupting volcano first.")
    tab_to(page, "[data-testid=save-slide]")
    page.keyboard.press("Enter")
    expect(slide).to_contain_text("edited", timeout=60_000)
    expect(slide.get_by_test_id("edit")).to_be_focused()
    lesson.refresh_from_db()
    assert lesson.slides[0]["notes"] == "Show a photo of an erupting volcano first."

    # Regenerate the question: focus waits on Stop, then lands on the new question's card
    tab_to(page, "[data-testid=question] [data-testid=regenerate]")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stop")).to_be_focused()
    expect(page.get_by_test_id("job-status")).to_have_text("succeeded", timeout=300_000)
    expect(page.locator('#quiz [data-index="0"]')).to_be_focused()
    assert_focus_ring(page)
    again = Job.objects.get(owner=creator, kind="courseware-regenerate-question")
    assert again.status == "succeeded", again.error
    lesson.refresh_from_db()
    assert lesson.quiz[0]["question"] == again.result["question"]["question"]

    # Export: back up the page with Shift+Tab to the PPTX link; Enter downloads the edited deck
    tab_to(page, "#export-pptx", backwards=True)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    deck = Presentation(io.BytesIO(open(download.value.path(), "rb").read()))
    notes = [shown.notes_slide.notes_text_frame.text for shown in deck.slides if shown.has_notes_slide]
    assert any(text.endswith("Show a photo of an erupting volcano first.") for text in notes)
