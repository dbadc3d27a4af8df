"""Finding 3 of issue 21, as the attack, against a real ASGI server: 25 wrong passwords, each sent
with a different X-Forwarded-For, got no 429 (the header named the client, and anyone can send it);
and /admin/login/ had no limit at all, even for a client that /accounts/login/ had blocked.

Now X-Forwarded-For is believed only from the proxies AIGC_TRUSTED_PROXIES names, and one sign-in
limit covers /accounts/login/, /admin/login/ and /api/v1/auth/token/: per client, and per account
with a lockout (audited) that an admin clears."""

import re

import pytest
import requests
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from requests.adapters import HTTPAdapter

from aigc_platform.accounts.models import SignInLockout
from aigc_platform.audit.models import AuditEvent
from aigc_platform.core.clients import client_address
from tests.processes import start_web

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_RATE = 6  # sign-in attempts a minute per client address, on this module's server
ACCOUNT_FAILURES = 5  # failures that lock an account


@pytest.fixture(scope="module")
def limited_web(django_db_setup, django_db_blocker, tmp_path_factory):
    """A web server of this module's own, with tight sign-in limits (the session's has them off)."""
    with django_db_blocker.unblock():
        service, url = start_web(
            tmp_path_factory.mktemp("signin-web"),
            AIGC_RATE_LIMIT_SIGN_IN=f"{CLIENT_RATE}/minute",
            AIGC_SIGN_IN_ACCOUNT_FAILURES=str(ACCOUNT_FAILURES),
            AIGC_SIGN_IN_CLIENT_FAILURES="1000",
        )
    yield url
    service.stop()


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


class FromAddress(HTTPAdapter):
    """Connect from another loopback address (127.0.0.0/8 is all this machine): another client."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def token_attempt(session, base: str, username: str, password: str, **headers) -> requests.Response:
    return session.post(
        f"{base}/api/v1/auth/token/", json={"username": username, "password": password}, headers=headers, timeout=10
    )


def form_attempt(session, base: str, path: str, username: str, password: str) -> requests.Response:
    page = session.get(f"{base}{path}", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"{base}{path}",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )


def test_forged_forwarded_for_headers_do_not_escape_the_limit_nor_does_the_admin_login(
    limited_web, admin_user, password
):
    attacker = client_at("127.0.0.21")
    # When an attacker sends 25 wrong passwords, each naming another client in X-Forwarded-For (and
    # each for another account, so that only the per-client limit can stop them)
    codes = [
        token_attempt(attacker, limited_web, f"guess-{n}", "wrong", **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(25)
    ]
    # Then the header changed nothing: past the client's rate, every attempt is a 429
    assert codes == [400] * CLIENT_RATE + [429] * (25 - CLIENT_RATE), codes
    refused = token_attempt(attacker, limited_web, "guess-x", "wrong", **{"X-Forwarded-For": "198.51.100.7"})
    assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0
    # and the admin's sign-in page refuses the same client, even with the right password
    admin_page = form_attempt(attacker, limited_web, "/admin/login/", admin_user.username, password)
    assert admin_page.status_code == 429 and "Too many sign-in attempts" in admin_page.text
    assert "sessionid" not in attacker.cookies
    # as does the platform's own
    assert form_attempt(attacker, limited_web, "/accounts/login/", admin_user.username, password).status_code == 429
    # while another client signs in as usual
    assert token_attempt(client_at("127.0.0.22"), limited_web, admin_user.username, password).status_code == 200


def test_an_account_is_locked_after_failures_from_many_clients_until_an_admin_clears_it(
    limited_web, operator, admin_user, password
):
    # When wrong passwords for one account come from as many clients as it takes to lock it
    for n in range(ACCOUNT_FAILURES):
        assert token_attempt(client_at(f"127.0.0.{40 + n}"), limited_web, operator.username, "wrong").status_code == 400
    # Then the account is locked for every way in, even to the right password, from a fresh client
    fresh = client_at("127.0.0.60")
    locked = token_attempt(fresh, limited_web, operator.username, password)
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "sign_in_locked", locked.text
    assert form_attempt(fresh, limited_web, "/accounts/login/", operator.username, password).status_code == 429
    assert (
        form_attempt(client_at("127.0.0.61"), limited_web, "/admin/login/", operator.username, password).status_code
        == 429
    )
    # and the lockout is in the audit log
    [lockout] = SignInLockout.objects.filter(scope="account", key=operator.username)
    assert AuditEvent.objects.filter(action="sign_in_locked", target_id=str(lockout.pk)).exists()
    # When an admin clears it with the admin action
    admin = Client()
    admin.force_login(admin_user)
    answer = admin.post(
        "/admin/accounts/signinlockout/", {"action": "clear_lockouts", "_selected_action": [lockout.pk]}
    )
    assert answer.status_code == 302
    # Then the account signs in again, and the clearing is audited with who did it
    assert token_attempt(client_at("127.0.0.62"), limited_web, operator.username, password).status_code == 200
    cleared = AuditEvent.objects.get(action="sign_in_unlocked", target_id=str(lockout.pk))
    assert cleared.actor_id == admin_user.pk


def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9, 10.9.9.9")
    # Given no trusted proxy, the connection's peer is the client, whatever the header says
    with override_settings(AIGC_TRUSTED_PROXIES=[]):
        assert client_address(request) == "10.1.2.3"
    # Given the proxies' network, the hops they added are skipped: the client is the first address they did not add
    with override_settings(AIGC_TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert client_address(request) == "203.0.113.9"
    # and a peer outside the trusted network is the client, whatever it forwards
    outside = RequestFactory().get("/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="1.1.1.1")
    with override_settings(AIGC_TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert client_address(outside) == "198.51.100.1"


def test_the_cli_clears_a_lockout(operator, password):
    from django.core.management import call_command

    from aigc_platform.accounts.services import sign_in_failure_record

    with override_settings(AIGC_SIGN_IN_ACCOUNT_FAILURES=2):
        for _ in range(2):
            sign_in_failure_record(request=None, username=operator.username)
    assert SignInLockout.objects.get(key=operator.username).is_active
    call_command("unlock_sign_in", operator.username, stdout=open("/dev/null", "w"))
    assert not SignInLockout.objects.get(key=operator.username).is_active
    assert Client().login(username=operator.username, password=password)


def test_a_client_is_locked_after_failures_across_many_accounts(operator, password):
    from rest_framework.test import APIClient

    stuffer = APIClient(REMOTE_ADDR="192.0.2.5")
    # Given a client that tries one password on each of many accounts (credential stuffing)
    with override_settings(AIGC_SIGN_IN_CLIENT_FAILURES=3):
        for n in range(3):
            assert (
                stuffer.post(
                    "/api/v1/auth/token/", {"username": f"someone-{n}", "password": "x"}, format="json"
                ).status_code
                == 400
            )
        # Then the client is locked out, even for an account whose password it has
        locked = stuffer.post(
            "/api/v1/auth/token/", {"username": operator.username, "password": password}, format="json"
        )
        assert locked.status_code == 429 and locked.json()["error"]["code"] == "sign_in_locked"
        assert SignInLockout.objects.get(scope="client").key == "192.0.2.5"
        # while the account itself signs in from elsewhere
        elsewhere = APIClient(REMOTE_ADDR="192.0.2.6")
        assert (
            elsewhere.post(
                "/api/v1/auth/token/", {"username": operator.username, "password": password}, format="json"
            ).status_code
            == 200
        )
