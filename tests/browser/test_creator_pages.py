"""The pages a creator uses, in Chromium, in English and in Chinese: axe-core finds no serious or
critical violation on any of them; the live preview's reader turns partial JSON into values without
ever showing its syntax; the marketing form works by keyboard alone."""

import json

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every page a creator reaches from the header (operators' pages are not theirs to see).
CREATOR_PAGES = [
    "/",
    "/marketing/",
    "/courseware/",
    "/jobs/",
    "/storage/",
    "/generators/",
    "/playground/",
    "/labeling/",
    "/api-keys/",
]
LOCALES = {"en": "en-US", "zh-hans": "zh-CN"}


@pytest.fixture(params=list(LOCALES))
def creator_page(request, browser, web, creator, password):
    """A signed-in creator's page whose browser asks for the language of the test's parameter."""
    context = browser.new_context(locale=LOCALES[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{web}/accounts/login/")
    page.fill("input[name=username]", creator.username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web}/")
    page.language = request.param
    yield page
    context.close()


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_violation_on_any_creator_page(creator_page, web):
    errors = []
    creator_page.on("pageerror", lambda error: errors.append(str(error)))
    for path in CREATOR_PAGES:
        creator_page.goto(f"{web}{path}")
        creator_page.wait_for_load_state("networkidle")
        # The page is in the browser's language
        assert creator_page.get_attribute("html", "lang") == creator_page.language, path
        assert serious_violations(creator_page) == [], path
    assert errors == []


def test_the_chinese_interface_reads_in_chinese(creator_page, web):
    if creator_page.language != "zh-hans":
        pytest.skip("the Chinese run only")
    creator_page.goto(f"{web}/marketing/")
    assert creator_page.locator("h1").inner_text() == "营销文案"
    assert creator_page.locator("#go").inner_text() == "生成"
    assert creator_page.locator("nav").inner_text().split()[:3] == ["仪表盘", "存储", "任务"]
    # Scripts take their words from the catalogue too, and format numbers for the page's language
    assert creator_page.evaluate("aigc.statusLabel('running')") == "运行中"
    assert creator_page.evaluate("aigc.number(12345.5)") == "12,345.5"


def test_the_language_switch_in_the_header_is_kept_for_the_person(creator_page, web, creator):
    from aigc_platform.accounts.models import Preference

    other = "en" if creator_page.language == "zh-hans" else "zh-hans"
    creator_page.goto(f"{web}/courseware/")
    # By keyboard: focus the switch, choose the other language, press its button
    creator_page.focus("#language-choice")
    creator_page.select_option("#language-choice", other)
    creator_page.keyboard.press("Tab")
    with creator_page.expect_navigation():  # the switch posts, then comes back to the same address
        creator_page.keyboard.press("Enter")
    assert creator_page.url == f"{web}/courseware/"
    assert creator_page.get_attribute("html", "lang") == other
    assert Preference.objects.get(user=creator).language == other


PARTIAL_JSON_CASES = [
    '{"title": "Photosynthesis 1: how plants \\"eat\\" light", "bullets": ["Leaves catch light", "Roots drink water"], "notes": "Ask why."}',
    '{"headline": "Dry feet \\u2014 every trail", "body": "Waterproof boots\\nfor weekend hikers", "n": 12, "ok": true, "none": null}',
    '{"activities": [{"name": "Warm-up", "minutes": 5, "description": "A question"}, {"name": "Lab", "minutes": 20, "description": ""}]}',
    '{"question": "光合作用需要什么？", "answer": "阳光", "wrong_answers": ["盐", "沙子", "石头"]}',
]


@pytest.mark.parametrize("text", PARTIAL_JSON_CASES)
def test_the_live_preview_reader_keeps_what_partial_json_says_and_never_its_syntax(creator_page, web, text):
    creator_page.goto(f"{web}/marketing/")
    # Fed one character at a time, the reader's value after the last one is what JSON.parse says
    steps = creator_page.evaluate(
        """(text) => {
        const reader = new aigc.PartialJson();
        const seen = [];
        for (const ch of text) seen.push(JSON.stringify(reader.feed(ch)));
        return {final: reader.root, seen};
    }""",
        text,
    )
    assert steps["final"] == json.loads(text)
    # and no value it held along the way carries JSON syntax inside a string (a quote, a brace, a key)
    for snapshot in steps["seen"]:
        value = json.loads(snapshot) if snapshot else None
        for string in _strings(value):
            assert '{"' not in string and '":' not in string and '", "' not in string, string


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_marketing_form_is_usable_by_keyboard_alone(creator_page, web):
    creator_page.goto(f"{web}/marketing/")
    creator_page.focus("#template")
    order = []
    for _ in range(12):
        creator_page.keyboard.press("Tab")
        order.append(creator_page.evaluate("document.activeElement.name || document.activeElement.id"))
    # Tab walks the form's fields in reading order and reaches the Generate button
    assert order[:9] == [
        "product",
        "audience",
        "tone",
        "language",
        "variants",
        "length",
        "keywords",
        "brand_voice",
        "go",
    ]
    # An incomplete form submitted by Enter is refused by the browser before any request
    creator_page.keyboard.press("Enter")
    assert creator_page.evaluate("document.querySelector('#generate').checkValidity()") is False
    # The skip link is the first stop and leads to the content
    creator_page.goto(f"{web}/marketing/")
    creator_page.keyboard.press("Tab")
    assert creator_page.evaluate("document.activeElement.className") == "skip"


def test_a_variant_is_reviewed_by_keyboard_alone(creator_page, web, creator):
    import importlib

    from django.apps import apps

    from applications.marketing.models import Generation, Template, Variant

    importlib.import_module("applications.marketing.migrations.0002_seed_templates").seed(apps, None)
    generation = Generation.objects.create(
        owner=creator,
        template=Template.objects.get(slug="ad-headline"),
        product="Trail boots",
        audience="hikers",
        tone="bold",
        language="en",
        variant_count=1,
    )
    variant = Variant.objects.create(
        generation=generation, index=0, text="Dry feet on every trail", passed=True, attempts=1
    )
    creator_page.goto(f"{web}/marketing/")
    # Open the generation from the history, reject its variant with a reason and accept it again: keys only
    creator_page.focus("[data-testid=history-row] a")
    creator_page.keyboard.press("Enter")
    creator_page.get_by_test_id("variant").wait_for()
    creator_page.focus("[data-testid=variant] [data-testid=reject]")
    creator_page.keyboard.press("Enter")
    assert (
        creator_page.evaluate("document.activeElement.dataset.testid") == "reject-reason"
    )  # focus moves to the reason
    creator_page.keyboard.type("Too vague")
    creator_page.keyboard.press("Enter")
    expect_verdict = "rejected: Too vague" if creator_page.language == "en" else "已拒绝：Too vague"
    creator_page.get_by_test_id("verdict").filter(has_text=expect_verdict).wait_for()
    variant.refresh_from_db()
    assert (variant.review, variant.review_reason) == ("rejected", "Too vague")
    creator_page.focus("[data-testid=variant] [data-testid=accept]")
    creator_page.keyboard.press("Enter")
    creator_page.get_by_test_id("verdict").filter(
        has_text="accepted" if creator_page.language == "en" else "已采纳"
    ).wait_for()
    variant.refresh_from_db()
    assert variant.review == "accepted"
    # An edit by keyboard saves, runs the checks again and clears the verdict; focus stays on Save
    creator_page.focus("[data-testid=variant] [data-testid=variant-text]")
    creator_page.keyboard.press("Control+A")
    creator_page.keyboard.type("Waterproof boots, dry feet")
    creator_page.focus("[data-testid=variant] [data-testid=save-edit]")
    creator_page.keyboard.press("Enter")
    saved = "Saved; its checks ran again." if creator_page.language == "en" else "已保存，并重新运行了检查。"
    creator_page.get_by_test_id("variant-note").filter(has_text=saved).wait_for(timeout=60_000)
    assert creator_page.get_by_test_id("verdict").inner_text() == ""
    assert creator_page.evaluate("document.activeElement.dataset.testid") == "save-edit"
    variant.refresh_from_db()
    assert (variant.text, variant.review, variant.edited) == ("Waterproof boots, dry feet", "", True)
