"""Rate limits per user, per API key and on sign-in (429 in the JSON error shape), and the audit log."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from aigc_platform.accounts.services import api_key_create
from aigc_platform.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    cache.clear()

    def set_limits(**rates):
        settings.AIGC_RATE_LIMITS = {**settings.AIGC_RATE_LIMITS, **rates}

    yield set_limits
    cache.clear()


def test_a_user_over_their_rate_gets_429(creator, client_for, limits):
    limits(user="3/minute")
    client = client_for(creator)
    assert [client.get("/api/v1/jobs/").status_code for _ in range(4)] == [200, 200, 200, 429]
    error = client.get("/api/v1/jobs/").json()["error"]
    assert error["code"] == "rate_limited" and "throttled" in error["message"].lower()


def test_an_api_key_has_its_own_limit_below_its_users(creator, client_for, limits):
    limits(api_key="2/minute", user="50/minute")
    keyed = APIClient(HTTP_X_API_KEY=api_key_create(owner=creator, name="ci").raw_key)
    assert [keyed.get("/api/v1/jobs/").status_code for _ in range(3)] == [200, 200, 429]
    assert client_for(creator).get("/api/v1/jobs/").status_code == 200


def test_sign_in_attempts_are_limited(creator, limits, client, password):
    limits(sign_in="3/minute")
    api = APIClient()
    codes = [
        api.post("/api/v1/auth/token/", {"username": creator.username, "password": "guess"}, format="json").status_code
        for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    page = client.post("/accounts/login/", {"username": creator.username, "password": password})
    assert page.status_code == 429 and b"Too many sign-in attempts" in page.content


def test_health_is_not_rate_limited(client, limits):
    limits(anon="1/minute")
    assert [client.get("/api/v1/health/").status_code for _ in range(3)] == [200, 200, 200]


def test_sign_ins_keys_and_failures_are_audited(creator, client, client_for, password):
    client.post("/accounts/login/", {"username": creator.username, "password": "wrong"})
    client.post("/accounts/login/", {"username": creator.username, "password": password})
    api = client_for(creator)
    key_id = api.post("/api/v1/api-keys/", {"name": "ci"}, format="json").json()["id"]
    api.delete(f"/api/v1/api-keys/{key_id}/")
    APIClient().post("/api/v1/auth/token/", {"username": creator.username, "password": password}, format="json")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_name"))
    assert actions == [
        ("sign_in_failed", creator.username),
        ("sign_in", creator.username),
        ("api_key_created", creator.username),
        ("api_key_revoked", creator.username),
        ("token_issued", creator.username),
    ]
    assert AuditEvent.objects.get(action="sign_in").ip == "127.0.0.1"


def test_the_limit_counts_a_sliding_window_and_says_how_long_to_wait(creator, limits):
    from aigc_platform.accounts.throttling import UserRateThrottle

    limits(user="4/minute")
    request = type("Request", (), {"user": creator})()
    throttle = UserRateThrottle()
    assert [throttle.allow_request(request, None) for _ in range(5)] == [True] * 4 + [False]
    assert 0 < throttle.wait() <= 120
    # Half of the previous window still counts: 4 there and 2 now make 4 in the sliding minute
    throttle._previous, throttle._current, throttle._covered = 4, 2, 0.5
    assert throttle._previous * throttle._covered + throttle._current == 4
    assert throttle.wait() == pytest.approx(0.25 * 60)
