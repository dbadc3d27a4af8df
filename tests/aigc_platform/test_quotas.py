"""Generation token quotas per user and per API key: counted where generation finishes, refused at
submit with a 429 that says when the quota resets; usage in the API and in Django admin."""

import io
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from aigc_platform.accounts.services import api_key_create
from infrastructure.storage.services import file_store
from infrastructure.usage import selectors, services
from infrastructure.usage.models import DailyUsage

pytestmark = pytest.mark.django_db

SLUG = "smollm2-135m-instruct"
PROMPT = {"messages": [{"role": "user", "content": "Name a colour."}], "max_new_tokens": 8, "temperature": 0.0}


def key_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def test_tokens_count_per_user_across_keys_and_per_key(creator):
    # Given tokens generated with a token, and with two API keys
    first, second = api_key_create(owner=creator, name="a"), api_key_create(owner=creator, name="b")
    services.usage_tokens_record(user_id=creator.pk, tokens=100)
    services.usage_tokens_record(user_id=creator.pk, tokens=30, api_key_prefix=first.api_key.prefix)
    services.usage_tokens_record(user_id=creator.pk, tokens=12, api_key_prefix=first.api_key.prefix)
    # Then the user's count is the sum of all, each key's count its own
    assert selectors.tokens_used_today(user=creator) == 142
    assert selectors.tokens_used_today(user=creator, api_key_prefix=first.api_key.prefix) == 42
    assert selectors.tokens_used_today(user=creator, api_key_prefix=second.api_key.prefix) == 0
    assert DailyUsage.objects.filter(user=creator).count() == 2


def test_a_key_over_its_quota_is_refused_while_the_user_and_other_keys_go_on(creator, settings):
    settings.AIGC_QUOTA_TOKENS_PER_DAY, settings.AIGC_QUOTA_TOKENS_PER_DAY_API_KEY = 1000, 40
    spent, fresh = api_key_create(owner=creator, name="spent"), api_key_create(owner=creator, name="fresh")
    services.usage_tokens_record(user_id=creator.pk, tokens=40, api_key_prefix=spent.api_key.prefix)
    with pytest.raises(services.QuotaExceeded) as refused:
        services.usage_quota_check(user=creator, api_key_prefix=spent.api_key.prefix)
    assert f"The API key {spent.api_key.prefix}… has generated 40 tokens today" in refused.value.message
    services.usage_quota_check(user=creator, api_key_prefix=fresh.api_key.prefix)
    services.usage_quota_check(user=creator)
    # When the user's own quota is spent, every credential of theirs is refused
    services.usage_tokens_record(user_id=creator.pk, tokens=960)
    with pytest.raises(services.QuotaExceeded, match="You have generated 1,000 tokens today"):
        services.usage_quota_check(user=creator, api_key_prefix=fresh.api_key.prefix)


def test_yesterdays_tokens_do_not_count_and_the_reset_is_the_next_midnight(creator, settings):
    settings.AIGC_QUOTA_TOKENS_PER_DAY = 10
    DailyUsage.objects.create(day=selectors.usage_today() - timedelta(days=1), user=creator, tokens=500)
    services.usage_quota_check(user=creator)
    resets_at = selectors.quota_resets_at()
    assert resets_at.date() == selectors.usage_today() + timedelta(days=1)
    assert (resets_at.hour, resets_at.minute, resets_at.second) == (0, 0, 0)


def test_no_quota_means_no_limit(creator, settings):
    settings.AIGC_QUOTA_TOKENS_PER_DAY = 0
    services.usage_tokens_record(user_id=creator.pk, tokens=10**9)
    services.usage_quota_check(user=creator)


def test_usage_api_shows_today_the_quota_its_reset_and_storage(creator, client_for, settings):
    settings.AIGC_QUOTA_TOKENS_PER_DAY, settings.AIGC_QUOTA_TOKENS_PER_DAY_API_KEY = 5000, 500
    issued = api_key_create(owner=creator, name="ci")
    services.usage_tokens_record(user_id=creator.pk, tokens=70)
    services.usage_tokens_record(user_id=creator.pk, tokens=30, api_key_prefix=issued.api_key.prefix)
    file_store(owner=creator, stream=io.BytesIO(b"x" * 1234), filename="note.txt")
    body = client_for(creator).get("/api/v1/usage/").json()
    assert body["tokens"] == 100 and body["tokens_limit"] == 5000 and body["api_key"] is None
    assert body["resets_at"].startswith(str(selectors.usage_today() + timedelta(days=1)))
    assert body["storage"]["used"] == 1234
    with_key = key_client(issued.raw_key).get("/api/v1/usage/").json()
    assert with_key["api_key"] == {
        "prefix": issued.api_key.prefix,
        "tokens": 30,
        "tokens_limit": 500,
        "tokens_reserved": 0,
    }


def test_admin_usage_page_lists_requests_tokens_and_storage_per_user(admin_user, creator, client, settings):
    DailyUsage.objects.create(day=selectors.usage_today(), user=creator, requests=7, tokens=4321)
    file_store(owner=creator, stream=io.BytesIO(b"y" * 2048), filename="a.bin")
    client.force_login(admin_user)
    page = client.get("/admin/usage/dailyusage/")
    assert page.status_code == 200
    html = page.content.decode()
    assert creator.username in html and "4321" in html and "2.0\xa0KB" in html


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_generation_tokens_are_counted_and_the_quota_refuses_with_when_it_resets(
    creator, client_for, settings, inference_worker
):
    from models_layer.registry.services import generators_bootstrap

    generators_bootstrap()
    settings.AIGC_QUOTA_TOKENS_PER_DAY, settings.AIGC_QUOTA_TOKENS_PER_DAY_API_KEY = 0, 5
    issued = api_key_create(owner=creator, name="quota")
    with_key = key_client(issued.raw_key)
    # Given a generation through an API key, run by the real inference worker
    job = with_key.post(f"/api/v1/generators/{SLUG}/generate/?wait=120", PROMPT, format="json").json()
    assert job["status"] == "succeeded", job
    generated = job["result"]["usage"]["completion_tokens"]
    # Then the worker counted its tokens for the user and for the key, and the request
    assert generated >= 5
    assert selectors.tokens_used_today(user=creator) == generated
    assert selectors.tokens_used_today(user=creator, api_key_prefix=issued.api_key.prefix) == generated
    assert DailyUsage.objects.get(user=creator, api_key_prefix=issued.api_key.prefix).requests == 1
    # When the key asks again, over its quota, it gets a 429 that says when the quota resets
    refused = with_key.post(f"/api/v1/generators/{SLUG}/generate/", PROMPT, format="json")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert f"resets at {selectors.quota_resets_at().isoformat()}" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    # While the user's own token still may (no user quota), until a user quota is set and spent
    own = client_for(creator)
    assert own.post(f"/api/v1/generators/{SLUG}/generate/", PROMPT, format="json").status_code == 202
    settings.AIGC_QUOTA_TOKENS_PER_DAY = generated
    refused = own.post(f"/api/v1/generators/{SLUG}/generate/", PROMPT, format="json")
    assert refused.status_code == 429 and "You have generated" in refused.json()["error"]["message"]


def test_the_applications_refuse_a_user_over_the_quota_too(creator, client_for, settings):
    from applications.marketing.models import Template
    from applications.marketing.services import generation_submit

    # Given a user who has generated the day's quota
    settings.AIGC_QUOTA_TOKENS_PER_DAY = 100
    services.usage_tokens_record(user_id=creator.pk, tokens=100)
    # When they ask for a lesson, the courseware API answers 429 with the reset
    response = client_for(creator).post(
        "/api/v1/courseware/",
        {"topic": "Photosynthesis", "grade_level": 6, "objectives": ["Explain what leaves do"], "language": "en"},
        format="json",
    )
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "quota_exceeded" and "resets at" in response.json()["error"]["message"]
    # and marketing copy is refused the same way
    with pytest.raises(services.QuotaExceeded):
        generation_submit(
            user=creator,
            template=Template(slug="any", name="Any", fields=[], prompt=""),
            product="Tea",
            audience="students",
            tone="warm",
            language="en",
            variants=1,
        )
