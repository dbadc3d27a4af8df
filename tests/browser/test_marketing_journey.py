"""A creator, in the browser, makes a brand voice, generates ad headlines that stream in as they are
written, edits and favourites one, copies it, downloads the CSV and sends the variants for rating."""
import csv
import importlib

import pytest
from django.apps import apps

from applications.marketing.models import Variant
from tools_layer.labeling.models import LabelingTask

# Importing it points this run's worker at the converted checkpoint the application tests share.
from tests.applications.conftest import shared_model_folders  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def builtin_and_templates(db):
    from models_layer.registry.services import generators_bootstrap

    # A transactional test's flush empties the tables the migrations seeded; seed them as they do.
    importlib.import_module("applications.marketing.migrations.0002_seed_templates").seed(apps, None)
    importlib.import_module("applications.marketing.migrations.0003_plain_prompts").refresh(apps, None)
    return generators_bootstrap()


def test_a_creator_generates_copy_in_the_browser_and_downloads_csv(builtin_and_templates, make_user, sign_in, web, worker, tmp_path):
    creator = make_user("creator")
    page = sign_in(creator)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web)
    page.goto(f"{web}/marketing/")

    # A brand voice made on the page is chosen for the generation
    page.click("#voices summary")
    page.fill("#voice-form input[name=name]", "Trail-ready")
    page.fill("#voice-form input[name=banned_words]", "cheap")
    page.click("#voice-form button[type=submit]")
    page.locator("#brand-voice option", has_text="Trail-ready").wait_for(state="attached")
    assert page.locator("#brand-voice option:checked").inner_text() == "Trail-ready"

    page.select_option("#template", "ad-headline")
    page.fill("textarea[name=product]", "Trailblazer waterproof hiking boots")
    page.fill("input[name=audience]", "weekend hikers")
    page.fill("input[name=variants]", "2")
    page.select_option("select[name=length]", "short")
    page.click("#go")

    # The variants stream in token by token, then become editable cards with their checks
    page.get_by_test_id("live-variant").first.wait_for(timeout=120_000)  # the worker loads the model first
    page.get_by_test_id("job-status").filter(has_text="succeeded").wait_for(timeout=120_000)
    cards = page.get_by_test_id("variant")
    cards.nth(1).wait_for()
    assert int(page.get_by_test_id("variants").get_attribute("data-streamed")) > 5
    assert cards.count() == 2
    assert "length:" in cards.first.get_by_test_id("checks").inner_text()

    # Edit in place (the checks run again), favourite it, copy it
    first = cards.first
    first.get_by_test_id("variant-text").fill("Cheap boots, dry feet")
    first.get_by_test_id("save-edit").click()
    first.get_by_test_id("variant-note").filter(has_text="Saved.").wait_for()
    assert "uses cheap" in first.get_by_test_id("checks").inner_text()
    first.get_by_test_id("favourite").click()
    page.wait_for_function("document.querySelector('[data-testid=favourite]').getAttribute('aria-pressed') === 'true'")
    first.get_by_test_id("copy").click()
    first.get_by_test_id("variant-note").filter(has_text="Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == "Cheap boots, dry feet"
    assert Variant.objects.get(generation__owner=creator, index=0).favourite

    # Download the CSV: the edited text, marked AI-generated
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "copy.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 2 and rows[0]["text"] == "Cheap boots, dry feet"
    assert rows[0]["favourite"] == "True" and {row["ai_generated"] for row in rows} == {"true"}

    # Send them for rating: a labeling project gets the tasks
    page.click("#send-labeling")
    page.locator("#labeling-result a", has_text="open the labeling project").wait_for()
    assert LabelingTask.objects.filter(source__app="marketing", project__owner=creator).count() == 2

    # The history lists it
    page.get_by_test_id("history-row").filter(has_text="ad-headline").wait_for()
