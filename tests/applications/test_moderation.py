"""The content filter both applications share: which terms it finds, per language, and what a
blocked request leaves behind (a 400-shaped error naming the fields, and an audit event)."""
import pytest

from aigc_platform.audit.models import AuditEvent
from applications.moderation import ContentBlocked, blocked_terms, moderate_inputs, moderation_record


def test_latin_terms_match_whole_words_in_any_case_and_cjk_terms_anywhere():
    assert blocked_terms(text="What the FUCK is this") == ["fuck"]
    assert blocked_terms(text="A trip to Scunthorpe, shitake mushrooms") == []  # no match inside a word
    assert blocked_terms(text="please Kill  yourself") == []  # a phrase matches as written
    assert blocked_terms(text="please kill yourself now") == ["kill yourself"]
    assert blocked_terms(text="这个产品傻逼") == ["傻逼"]
    # every language's list applies to every request
    assert blocked_terms(text="boots 去死吧 and shit") == ["shit", "去死吧"]
    assert blocked_terms(text="") == []


def test_the_lists_come_from_settings(settings):
    settings.MODERATION_BLOCKED_TERMS = {"en": ["crocs"], "zh": ["拖鞋"]}
    assert blocked_terms(text="Crocs are comfy") == ["crocs"]
    assert blocked_terms(text="new shit") == []
    assert blocked_terms(text="一双拖鞋") == ["拖鞋"]


@pytest.mark.django_db
def test_a_blocked_request_names_its_fields_and_is_logged_for_admins(creator):
    with pytest.raises(ContentBlocked) as raised:
        moderate_inputs(user=creator, language="en", where="marketing",
                        fields={"product": "boots", "audience": "fuck everyone", "keywords": ["ok", "shit"]})
    assert raised.value.code == "content_blocked" and raised.value.status_code == 400
    assert set(raised.value.fields) == {"audience", "keywords"}
    assert "fuck" in raised.value.fields["audience"][0]
    event = AuditEvent.objects.get(action="content.blocked")
    assert event.actor == creator and event.detail == {"where": "marketing input", "terms": ["fuck", "shit"], "language": "en"}


@pytest.mark.django_db
def test_clean_input_passes_without_a_trace(creator):
    moderate_inputs(user=creator, language="zh", where="marketing", fields={"product": "山地徒步鞋", "tone": "活泼"})
    moderation_record(user=creator, where="marketing output", terms=["shit"], language="en")
    assert list(AuditEvent.objects.values_list("detail__where", flat=True)) == ["marketing output"]
