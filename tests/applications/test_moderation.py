"""The content filter as the applications call it (applications.moderation, over models_layer.moderation):
which terms the word lists find, per language, and what a blocked request leaves behind (a 400-shaped
error naming the fields, and an audit event naming the policy that fired)."""

import pytest

from aigc_platform.audit.models import AuditEvent
from applications.moderation import ContentBlocked, moderate_inputs, moderation_record
from tools_layer.quality.terms import blocked_terms


@pytest.mark.django_db
def test_latin_terms_match_whole_words_in_any_case_and_cjk_terms_anywhere():
    assert blocked_terms(text="What the FUCK is this") == ["fuck"]
    assert blocked_terms(text="A trip to Scunthorpe, shitake mushrooms") == []  # no match inside a word
    assert blocked_terms(text="please Kill  yourself") == []  # a phrase matches as written
    assert blocked_terms(text="please kill yourself now") == ["kill yourself"]
    assert blocked_terms(text="这个产品傻逼") == ["傻逼"]
    # every language's list applies to every request
    assert blocked_terms(text="boots 去死吧 and shit") == ["shit", "去死吧"]
    assert blocked_terms(text="") == []


@pytest.mark.django_db
def test_the_lists_come_from_settings(settings):
    settings.MODERATION_BLOCKED_TERMS = {"en": ["crocs"], "zh": ["拖鞋"]}
    assert blocked_terms(text="Crocs are comfy") == ["crocs"]
    assert blocked_terms(text="new shit") == []
    assert blocked_terms(text="一双拖鞋") == ["拖鞋"]


@pytest.mark.django_db
def test_a_blocked_request_names_its_fields_and_is_logged_for_admins(creator):
    with pytest.raises(ContentBlocked) as raised:
        moderate_inputs(
            user=creator,
            language="en",
            where="marketing",
            fields={"product": "boots", "audience": "fuck everyone", "keywords": ["ok", "shit"]},
        )
    assert raised.value.code == "content_blocked" and raised.value.status_code == 400
    assert set(raised.value.fields) == {"audience", "keywords"}
    assert "fuck" in raised.value.fields["audience"][0]
    event = AuditEvent.objects.get(action="content.blocked")
    assert event.actor == creator and event.detail == {
        "where": "marketing input",
        "surface": "marketing",
        "direction": "input",
        "policy": "default-word-list",
        "policies": [{"id": None, "name": "default-word-list", "kind": "words", "matches": ["fuck", "shit"]}],
        "terms": ["fuck", "shit"],
        "language": "en",
        "fields": ["audience", "keywords"],
    }


@pytest.mark.django_db
def test_clean_input_passes_without_a_trace(creator):
    moderate_inputs(user=creator, language="zh", where="marketing", fields={"product": "山地徒步鞋", "tone": "活泼"})
    moderation_record(user=creator, where="marketing", text="this shit sells", language="en")
    assert list(AuditEvent.objects.values_list("detail__where", flat=True)) == ["marketing output"]


@pytest.mark.django_db(transaction=True)
def test_the_live_preview_of_writing_never_shows_what_an_output_policy_blocks(builtin, operator, creator, settings):
    # The applications' tokens stream to the page's live preview through the content filter's output guard
    from applications.writing import write_json
    from models_layer.moderation.services import moderation_policy_create
    from tests.infrastructure.test_compute_job_services import running_context

    settings.JOB_EVENTS_BATCH_SECONDS = 3600  # the events stay in the job's context, to be read here
    ask = {
        "version": builtin,
        "system": "You write advertising copy as JSON.",
        "prompt": "Write one ad headline for waterproof hiking boots.",
        "schema": {
            "type": "object",
            "properties": {"headline": {"type": "string", "maxLength": 60}},
            "required": ["headline"],
        },
        "max_new_tokens": 40,
        "seed": 1,
        "tags": {"section": "variant", "variant": 0, "attempt": 1},
    }

    def preview(ctx) -> str:
        return "".join(data["text"] for kind, data in ctx.take_unpublished() if kind == "token")

    # Without a policy the preview shows the JSON as it forms, its key included
    ctx = running_context(creator)
    value, _ = write_json(**ask, ctx=ctx)
    assert value and '"headline"' in preview(ctx)
    # With an output pattern that fires on it, the writing still ends (the finished item is the checks'
    # to judge), and nothing from the first hit on reaches the preview
    moderation_policy_create(user=operator, name="no-key", kind="regex", pattern="(?i)headline", applies_to="outputs")
    ctx = running_context(creator)
    value, _ = write_json(**ask, ctx=ctx)
    assert value and value["headline"]
    assert "headline" not in preview(ctx).lower()


@pytest.mark.django_db(transaction=True)
def test_items_written_in_a_worker_meet_the_classifier_policies_and_edits_the_fast_ones(builtin, operator):
    # Given the built-in model registered as an output classifier whose every label blocks (SmolLM2
    # judges poorly: this checks that the applications' items are put to it, not its judgement)
    from applications.moderation import content_filter_check
    from models_layer.moderation.services import moderation_policy_create

    moderation_policy_create(
        user=operator,
        name="smol-judge",
        kind="classifier",
        classifier=builtin.generator,
        labels=["safe", "unsafe"],
        blocked_labels=["safe", "unsafe"],
        applies_to="outputs",
    )
    # an item written in a worker (where a model runs) is classified, and blocked by the label
    written = content_filter_check(text="Waterproof boots for weekend hikers.", classify=True)
    assert not written["passed"] and "smol-judge" in written["detail"]
    # an edit, checked in the web process, meets word lists and patterns only
    assert content_filter_check(text="Waterproof boots for weekend hikers.")["passed"]
