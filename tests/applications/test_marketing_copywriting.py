"""How one variant is bounded and judged: the limits a length allows, the grammar that keeps
required keywords, the checks (length, banned words, keywords, content filter), and edits read back."""

import re

import pytest

from applications.marketing import copywriting
from applications.marketing.services import _split_fields

HERO = [
    {"name": "headline", "label": "Headline", "min_chars": 15, "max_chars": 60},
    {"name": "cta", "label": "Button", "min_chars": 5, "max_chars": 25},
]


def _brief(**changes):
    return copywriting.Brief(
        **{
            "product": "boots",
            "audience": "hikers",
            "tone": "bold",
            "language": "en",
            "length": "medium",
            "keywords": [],
            "banned_words": [],
            **changes,
        }
    )


def test_a_shorter_length_lowers_each_maximum_but_never_below_its_minimum():
    short = copywriting.field_limits(HERO, "short")
    assert [(f["min_chars"], f["max_chars"]) for f in short] == [(15, 30), (5, 15)]
    assert copywriting.field_limits(HERO, "long") == HERO
    assert [f["max_chars"] for f in copywriting.field_limits(HERO, "medium")] == [45, 18]


def test_the_token_budget_lets_every_field_reach_its_limit_in_each_language():
    # A Chinese character may take two tokens (byte tokens); a looping model writes a token a character
    chars = sum(f["max_chars"] for f in HERO)
    assert copywriting.max_tokens_for(HERO, "zh") >= 2 * chars
    assert copywriting.max_tokens_for(HERO, "en") >= chars


def test_the_keyword_grammar_accepts_copy_that_holds_every_keyword_within_the_limit():
    schema = copywriting.variant_schema(HERO, force_keywords=["waterproof", "light"])
    pattern = re.compile(schema["properties"]["headline"]["pattern"])
    assert pattern.match("Stay dry with waterproof and light boots")
    assert pattern.match("Waterproof, light.")
    assert not pattern.match("Stay dry with light boots")  # a keyword missing
    assert not pattern.match("waterproof light " + "x" * 80)  # far over the limit
    assert schema["properties"]["cta"] == {"type": "string", "minLength": 5, "maxLength": 25}
    assert schema["required"] == ["headline", "cta"] and schema["additionalProperties"] is False


@pytest.mark.django_db  # the content filter reads the deployment's policies
def test_checks_report_each_rule_with_its_reason():
    brief = _brief(keywords=["waterproof"], banned_words=["cheap"])
    good = copywriting.variant_checks(HERO, {"headline": "Waterproof boots for every trail", "cta": "Shop now"}, brief)
    assert all(check["passed"] for check in good.values()) and set(good) == {
        "length",
        "banned_words",
        "required_keywords",
        "content_filter",
        "language",
        "real_words",
        "on_subject",
        "task_talk",
        "repetition",
        "complete_sentences",
        "shouting",
    }
    codes = copywriting.variant_checks(HERO, {"headline": "2023-08-06T00:00:00+00:00", "cta": "Shop now"}, brief)
    assert codes["real_words"] == {"passed": False, "detail": "'2023-08-06T00:00:00+00:00' is mostly not words"}
    chinese = copywriting.variant_checks(
        HERO,
        {"headline": "防水徒步鞋，轻便又耐穿，雨天也能放心走！", "cta": "立即购买防水鞋"},
        _brief(language="zh", product="防水徒步鞋"),
    )
    assert all(check["passed"] for check in chinese.values()), chinese
    # English copy for a Chinese request fails on its language, and says which language it is in
    english = copywriting.variant_checks(
        HERO, {"headline": "Waterproof boots for every trail", "cta": "Shop now"}, _brief(language="zh")
    )
    assert english["language"] == {"passed": False, "detail": "written in English, not Chinese"}
    # Copy that parrots the prompt's instructions talks about its task; repeating the brief's own words does not
    prompt = copywriting.variant_prompt(
        "The product: {product}. Write for {audience}, in a {tone} tone, in {language}.", HERO, brief
    )
    parrot = copywriting.variant_checks(
        HERO, {"headline": "Waterproof boots. Write for hikers in style.", "cta": "Shop now"}, brief, prompt=prompt
    )
    assert parrot["task_talk"] == {"passed": False, "detail": "repeats the instructions ('boots write for hikers')"}
    # an instruction on tone fails whatever the prompt said (the content checks know it as one)
    tone = copywriting.variant_checks(
        HERO, {"headline": "Waterproof boots. In a bold tone, in English.", "cta": "Shop now"}, brief, prompt=prompt
    )
    assert tone["task_talk"] == {"passed": False, "detail": "talks about the task: 'In a bold tone'"}
    plain = copywriting.variant_checks(
        HERO, {"headline": "Waterproof boots for hikers", "cta": "Shop now"}, brief, prompt=prompt
    )
    assert plain["task_talk"]["passed"]
    twice = copywriting.variant_checks(
        HERO, {"headline": "Waterproof boots for every hiker", "cta": "Waterproof boots for every"}, brief
    )
    assert not twice["repetition"]["passed"] and "said twice" in twice["repetition"]["detail"]
    bad = copywriting.variant_checks(HERO, {"headline": "Cheap shit", "cta": "Go"}, brief)
    assert [name for name, check in bad.items() if not check["passed"]] == [
        "length",
        "banned_words",
        "required_keywords",
        "content_filter",
        "on_subject",
    ]
    assert bad["length"]["detail"] == (
        "headline has 10 characters (allowed 15-60); cta has 2 characters (allowed 5-25)"
    )
    assert bad["banned_words"]["detail"] == "uses cheap" and bad["required_keywords"]["detail"] == "missing waterproof"
    # whole words only: "cheaply" is not "cheap"; Chinese words are found anywhere
    assert copywriting.variant_checks(HERO, {"headline": "Made cheaply, worn proudly", "cta": "Buy now"}, brief)[
        "banned_words"
    ]["passed"]
    zh = copywriting.variant_checks(
        HERO, {"headline": "防水的徒步鞋，便宜又好看", "cta": "立即购买吧"}, _brief(banned_words=["便宜"])
    )
    assert not zh["banned_words"]["passed"]
    feedback = copywriting.feedback_for(bad, brief)
    assert any("cheap" in note for note in feedback) and any("waterproof" in note for note in feedback)
    assert any("Write about boots" in note for note in feedback)


@pytest.mark.django_db
def test_the_issue_s_nonsense_fails_the_checks_that_see_it():
    aida = [
        {"name": name, "label": name.title(), "min_chars": 5, "max_chars": 80}
        for name in ("attention", "interest", "desire", "action")
    ]
    salad = copywriting.variant_checks(
        aida,
        {
            "attention": "A DALLASA RED TOOK A CARPEL OF COOL SPOTLETS",
            "interest": "Polarised sunglasses for bright beach days.",
            "desire": "WIN FRANCIS, WIN FRANCISIABELLA",
            "action": "Buy your sunglasses today.",
        },
        _brief(product="polarised sunglasses"),
    )
    assert not salad["real_words"]["passed"] and "not words: francisiabella" in salad["real_words"]["detail"]
    assert not salad["shouting"]["passed"]
    loop = copywriting.variant_checks(
        aida,
        {
            "attention": "Grow your business with a coach.",
            "interest": "Coaches help owners plan and hire.",
            "desire": "A clear plan for every month.",
            "action": "To, to, grow, to, to, business, to, grow, to, business, to,",
        },
        _brief(product="business coaching"),
    )
    assert not loop["repetition"]["passed"] and not loop["complete_sentences"]["passed"]
    jackets = copywriting.variant_checks(
        HERO,
        {"headline": "Making light jackets for every season", "cta": "Shop jackets"},
        _brief(product="noise-cancelling earbuds"),
    )
    assert jackets["on_subject"] == {
        "passed": False,
        "detail": "never names 'noise-cancelling earbuds' or its key words",
    }


@pytest.mark.django_db
def test_what_the_built_in_model_passed_before_now_fails():
    # Variants of the built-in SmolLM2 that passed every check (bench/applications.py --show, 2026-12-07):
    # the brief echoed and cut off, and a post that names its own parts.
    slogan = [{"name": "headline", "label": "Headline", "min_chars": 5, "max_chars": 60}]
    for text, product in (
        ("Solar-powered camping lantern that charges", "Solar-powered camping lantern that charges your phone"),
        ("Organic dog food made with fresh", "Organic dog food made with fresh vegetables"),
        ("Company's New Product: Spring Sale on Running", "Spring sale on running shoes, 30% off"),
    ):
        found = copywriting.variant_checks(slogan, {"headline": text}, _brief(product=product))
        assert found["complete_sentences"] == {
            "passed": False,
            "detail": f"{text[-40:]!r} stops partway through the brief's words",
        }, text
    ended = copywriting.variant_checks(
        slogan, {"headline": "Slimmed down headphones with 40-hour"}, _brief(product="headphones")
    )
    assert not ended["complete_sentences"]["passed"]
    # while copy that ends on the brief's nouns, or on all of the brief, is complete
    for text in ("Meet your new noise-cancelling earbuds", "The earbuds with a 40-hour battery"):
        found = copywriting.variant_checks(
            slogan, {"headline": text}, _brief(product="Noise-cancelling earbuds with a 40-hour battery")
        )
        assert found["complete_sentences"]["passed"], text
    post = [{"name": "post", "label": "Post", "min_chars": 5, "max_chars": 200}]
    talk = copywriting.variant_checks(
        post,
        {
            "post": "The call to action: One call to action to share a social media post about a Weekend "
            "pottery class for beginners."
        },
        _brief(product="Weekend pottery class for beginners"),
    )
    assert not talk["task_talk"]["passed"] and "call to action" in talk["task_talk"]["detail"]


def test_the_prompt_carries_the_brief_the_voice_and_the_feedback():
    prompt = copywriting.variant_prompt(
        "Write a headline for {product} ({audience}, {tone}). {voice}{keywords}Write in {language}.",
        HERO,
        _brief(language="zh", keywords=["light"], banned_words=["cheap"], voice="Calm"),
        feedback=["Do not use: cheap."],
    )
    assert "boots (hikers, bold)" in prompt and "Write in Chinese." in prompt and "Brand voice: Calm." in prompt
    assert "Use the words: light." in prompt and "Never use these words: cheap." in prompt
    assert prompt.endswith("Fix this from the last try: Do not use: cheap.")


def test_a_cut_word_is_trimmed_and_an_edited_text_is_read_back_into_its_fields():
    limits = [{"name": "headline", "min_chars": 5, "max_chars": 20}]
    assert copywriting.trim_cut_words(limits, {"headline": "Stay dry on every tra"}) == {
        "headline": "Stay dry on every"
    }
    assert copywriting.trim_cut_words(limits, {"headline": "Stay dry, hike on!!"}) == {
        "headline": "Stay dry, hike on!!"
    }
    text = copywriting.render(HERO, {"headline": "Dry feet, long trails", "cta": "Shop boots"})
    assert text == "Headline: Dry feet, long trails\nButton: Shop boots"
    assert _split_fields(HERO, text + "\nand more") == {
        "headline": "Dry feet, long trails",
        "cta": "Shop boots and more",
    }
    assert _split_fields(limits, "  Just a headline ") == {"headline": "Just a headline"}


def test_a_template_an_admin_saves_must_be_writable():
    import pytest
    from django.core.exceptions import ValidationError

    from applications.marketing.models import Template

    good = Template(
        slug="tagline",
        name="Tagline",
        fields=[{"name": "tagline", "label": "Tagline", "min_chars": 5, "max_chars": 40}],
        prompt="Write a tagline for {product}, for {audience}. {voice}{keywords}In {language}.",
    )
    good.clean()
    for fields, prompt, bad in [
        ([{"name": "tagline", "max_chars": 40}], "For {product} in {colour}.", "prompt"),
        ([{"name": "tag line", "max_chars": 40}], "For {product}.", "fields"),
        ([{"name": "tagline", "min_chars": 50, "max_chars": 40}], "For {product}.", "fields"),
        ({"name": "tagline"}, "For {product}.", "fields"),
    ]:
        with pytest.raises(ValidationError) as raised:
            Template(slug="x", name="x", fields=fields, prompt=prompt).clean()
        assert set(raised.value.message_dict) == {bad}
