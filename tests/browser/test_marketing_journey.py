"""A creator, in the browser, in English and in Chinese: asks for ten ad headlines, watches readable
text arrive (never JSON), sees progress by variant and attempt, stops the request while the second
variant is written (what was done is kept, the rest are marked not written), regenerates one of those,
rejects one with a reason (a judgement in labelling), compares them side by side and copies one from
there, and exports the CSV. A second test keeps the older path: a brand voice, an edit in place, a
favourite and sending to labeling."""

import csv
import importlib
import re

import pytest
from django.apps import apps
from playwright.sync_api import expect

from applications.marketing.models import Variant
from tools_layer.labeling.models import Annotation, LabelingTask

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LOCALES = {"en": "en-US", "zh-hans": "zh-CN"}
# The most a creator may ask for: the more variants, the surer the stop lands before the last is written
VARIANTS = 10

WORDS = {
    "en": {
        "progress": re.compile(rf"variant \d+ of {VARIANTS}, attempt \d of \d"),
        "cancelled": "cancelled",
        "rejected": "rejected: ",
        "stopped": "Not written: the request was stopped.",
        "stop_note": "Stopped: what was done is kept",
    },
    "zh-hans": {
        "progress": re.compile(rf"版本 \d+ / {VARIANTS}，第 \d 次尝试"),
        "cancelled": "已取消",
        "rejected": "已拒绝：",
        "stopped": "未写出：请求已停止。",
        "stop_note": "已停止：已完成的内容保留",
    },
}
JSON_SYNTAX = re.compile(r'\{"|\["|":|"\s*,\s*"')


@pytest.fixture
def builtin_and_templates(db):
    from models_layer.registry.services import generators_bootstrap

    # A transactional test's flush empties the tables the migrations seeded; seed them as they do.
    importlib.import_module("applications.marketing.migrations.0002_seed_templates").seed(apps, None)
    importlib.import_module("applications.marketing.migrations.0003_plain_prompts").refresh(apps, None)
    return generators_bootstrap()


@pytest.fixture(params=list(LOCALES))
def creator_in(request, browser, web, make_user, password):
    """A new creator signed in, in a browser that asks for the parameter's language."""
    creator = make_user("creator")
    context = browser.new_context(locale=LOCALES[request.param])
    context.set_default_timeout(15_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web)
    page = context.new_page()
    page.goto(f"{web}/accounts/login/")
    page.fill("input[name=username]", creator.username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{web}/")
    yield request.param, creator, page
    context.close()


def test_generate_watch_stop_regenerate_reject_compare_and_export(
    builtin_and_templates, creator_in, web, worker, tmp_path
):
    language, creator, page = creator_in
    words = WORDS[language]
    page.goto(f"{web}/marketing/")
    assert page.get_attribute("html", "lang") == language
    page.select_option("#template", "ad-headline")
    page.fill("textarea[name=product]", "Trailblazer waterproof hiking boots")
    page.fill("input[name=audience]", "weekend hikers")
    page.fill("input[name=variants]", str(VARIANTS))
    page.select_option("select[name=length]", "short")
    page.click("#go")

    # Readable text arrives field by field while the first variant is written, with progress by
    # variant and attempt, and a speed once tokens flow
    first_live = page.locator('[data-index="0"] [data-testid=live-variant]')
    expect(first_live).not_to_have_text("", timeout=180_000)  # the worker loads the model first
    expect(page.get_by_test_id("progress-text")).to_have_text(words["progress"])
    seen = set()
    for _ in range(10):
        seen.add(first_live.inner_text())
        page.wait_for_timeout(150)
    assert all(not JSON_SYNTAX.search(text) for text in seen), seen
    expect(page.get_by_test_id("progress-text")).to_contain_text(re.compile(r"tokens/s|词元/秒"), timeout=60_000)

    # Stop once the second variant is being written. How many are done when the stop reaches the worker
    # depends on the CPU's speed (llama.cpp writes a short headline in well under a second), so the test
    # reads that number off the page: the variants done are kept, in order, and every later one is marked
    # not written, in the page and in the database alike
    page.locator('[data-index="1"]').wait_for(timeout=240_000)
    page.get_by_test_id("stop").click()
    expect(page.get_by_test_id("job-status")).to_have_text(words["cancelled"], timeout=60_000)
    expect(page.get_by_test_id("progress-text")).to_contain_text(words["stop_note"])
    expect(page.get_by_test_id("variant-not-written").first).to_contain_text(words["stopped"])
    kept = page.get_by_test_id("variant").count()
    assert 1 <= kept < VARIANTS, kept
    expect(page.get_by_test_id("variant-not-written")).to_have_count(VARIANTS - kept)
    assert [int(card.get_attribute("data-index")) for card in page.get_by_test_id("variant").all()] == list(range(kept))
    rows = {row.index: row for row in Variant.objects.filter(generation__owner=creator)}
    assert sorted(rows) == list(range(VARIANTS))
    assert all(rows[i].text and rows[i].attempts >= 1 for i in range(kept))
    assert all(rows[i].attempts == 0 and rows[i].text == "" for i in range(kept, VARIANTS))

    # Regenerate the first of them: it is written again and kept in its place (streaming was seen above;
    # a short headline can be done before the page could show it half-written)
    page.locator(f'[data-testid=variant-not-written][data-index="{kept}"]').get_by_test_id("regenerate").click()
    expect(page.locator(f'[data-testid=variant][data-index="{kept}"] [data-testid=variant-text]')).not_to_have_value(
        "", timeout=180_000
    )
    expect(page.get_by_test_id("variant")).to_have_count(kept + 1)
    assert Variant.objects.get(generation__owner=creator, index=kept).attempts >= 1

    # Reject the first with a reason: the verdict shows, and labelling holds it as a judgement
    first = page.locator('[data-testid=variant][data-index="0"]')
    first.get_by_test_id("reject").click()
    first.get_by_test_id("reject-reason").fill("Says nothing about staying dry")
    first.get_by_test_id("reject-reason").press("Enter")
    expect(first.get_by_test_id("verdict")).to_contain_text(words["rejected"] + "Says nothing about staying dry")
    assert Variant.objects.get(generation__owner=creator, index=0).review == "rejected"
    task = LabelingTask.objects.get(project__owner=creator, source__app="marketing", source__variant=rows[0].pk)
    assert task.source["reason"] == "Says nothing about staying dry" and task.project.name == "Creator judgements"
    assert Annotation.objects.get(task=task, annotator=creator).value == {"label": "rejected"}

    # Compare them side by side, each with its checks; copy one
    page.get_by_test_id("compare-toggle").click()
    expect(page.get_by_test_id("compare-column")).to_have_count(kept + 1)
    expect(page.get_by_test_id("compare-column").first.get_by_test_id("checks")).not_to_be_empty()
    second = page.locator('[data-testid=variant][data-index="1"]')
    page.get_by_test_id("compare-copy").nth(1).click()
    assert page.evaluate("navigator.clipboard.readText()") == second.get_by_test_id("variant-text").input_value()

    # Export: the CSV has them all, those still not written empty
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "copy.csv"
    download.value.save_as(path)
    exported = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [bool(row["text"]) for row in exported] == [True] * (kept + 1) + [False] * (VARIANTS - 1 - kept)


def test_a_brand_voice_an_edit_a_favourite_and_labeling(builtin_and_templates, make_user, sign_in, web, worker):
    creator = make_user("creator")
    page = sign_in(creator)
    page.goto(f"{web}/marketing/")
    page.click("#voices summary")
    page.fill("#voice-form input[name=name]", "Trail-ready")
    page.fill("#voice-form input[name=banned_words]", "cheap")
    page.click("#voice-form button[type=submit]")
    page.locator("#brand-voice option", has_text="Trail-ready").wait_for(state="attached")
    assert page.locator("#brand-voice option:checked").inner_text() == "Trail-ready"
    page.select_option("#template", "ad-headline")
    page.fill("textarea[name=product]", "Trailblazer waterproof hiking boots")
    page.fill("input[name=audience]", "weekend hikers")
    page.fill("input[name=variants]", "1")
    page.select_option("select[name=length]", "short")
    page.click("#go")
    expect(page.get_by_test_id("job-status")).to_have_text("succeeded", timeout=240_000)
    card = page.get_by_test_id("variant")
    expect(card).to_have_count(1)
    # Edit in place: the checks run again on the new text
    card.get_by_test_id("variant-text").fill("Cheap boots, dry feet")
    card.get_by_test_id("save-edit").click()
    expect(card.get_by_test_id("variant-note")).to_have_text(
        "Saved; its checks ran again.", timeout=60_000
    )  # checks load their word lists once
    expect(card.get_by_test_id("checks")).to_contain_text("uses cheap")
    card.get_by_test_id("favourite").click()
    expect(card.get_by_test_id("favourite")).to_have_attribute("aria-pressed", "true")
    assert Variant.objects.get(generation__owner=creator).favourite
    page.click("#send-labeling")
    page.locator("#labeling-result a", has_text="open the labeling project").wait_for()
    assert (
        LabelingTask.objects.filter(
            source__app="marketing", project__owner=creator, project__task_type="rating"
        ).count()
        == 1
    )
    page.get_by_test_id("history-row").filter(has_text="ad-headline").wait_for()
