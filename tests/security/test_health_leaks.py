"""Finding 7 of issue 21 (health), as the attack, against the real ASGI server: /api/v1/health/ told
anonymous callers the workers' host names, the storage path and the Redis version.

Now anonymous callers get up or down only; operators and admins, signed in, get each check."""

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_callers_learn_up_or_down_only(web, worker, operator, creator):
    # When an anonymous caller asks for the platform's health
    response = requests.get(f"{web}/api/v1/health/", timeout=10)
    # Then it hears up or down, and nothing about the machines behind it
    assert response.status_code == 200
    assert response.json() == {"status": response.json()["status"]} and response.json()["status"] in ("ok", "degraded")
    assert worker.name not in response.text and "localhost" not in response.text
    assert "redis" not in response.text.lower() and str(settings.STORAGE_LOCAL_ROOT) not in response.text
    # and so does a creator; an operator gets every check's detail
    as_creator = requests.get(
        f"{web}/api/v1/health/",
        headers={"Authorization": f"Token {Token.objects.create(user=creator).key}"},
        timeout=10,
    )
    assert set(as_creator.json()) == {"status"}
    as_operator = requests.get(
        f"{web}/api/v1/health/",
        headers={"Authorization": f"Token {Token.objects.create(user=operator).key}"},
        timeout=10,
    )
    assert set(as_operator.json()["checks"]) >= {"database", "broker", "storage", "workers"}
