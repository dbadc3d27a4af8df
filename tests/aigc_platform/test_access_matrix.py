"""Access over every API route, found by walking the URL conf (so new routes are covered at once):
anonymous callers get 401 everywhere but the public routes; creators get 403 on operator routes;
another user's object is a 404 (tested per app, where objects are made)."""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PUBLIC = {"/api/v1/health/", "/api/v1/auth/token/"}
# Route prefixes only operators and admins may use (DESIGN.md: workers; training and datasets are operator work).
OPERATOR_ONLY = ("/api/v1/workers/", "/api/v1/queues/")
SAMPLE_BY_CONVERTER = {
    "UUIDConverter": str(uuid.uuid4()),
    "IntConverter": "999999",
    "SlugConverter": "no-such-slug",
    "StringConverter": "no-such",
}


def api_routes(patterns=None, prefix=""):
    """(sample path, view) for every route under /api/v1/, path parameters filled with samples."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        converters = getattr(pattern.pattern, "converters", {})
        route = re.sub(
            r"<(?:\w+:)?(\w+)>",
            lambda m: SAMPLE_BY_CONVERTER.get(type(converters.get(m.group(1))).__name__, "no-such"),  # noqa: B023 (used at once)
            str(pattern.pattern),
        )
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern) and (prefix + route).startswith("api/v1/"):
            yield "/" + prefix + route, pattern.callback


def methods_of(view) -> list[str]:
    cls = getattr(view, "cls", None)
    if cls is None:
        return ["get"]
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]


ROUTES = sorted({(path, method) for path, view in api_routes() for method in methods_of(view)})


def test_the_walk_finds_the_routes():
    paths = {path for path, _ in ROUTES}
    assert "/api/v1/jobs/" in paths and any(p.endswith("/events/") for p in paths) and len(ROUTES) > 15


@pytest.mark.parametrize("path, method", [r for r in ROUTES if r[0] not in PUBLIC])
def test_anonymous_callers_are_401(path, method):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 401, f"{method.upper()} {path}: {response.status_code}"
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}


@pytest.mark.parametrize("path, method", [r for r in ROUTES if r[0].startswith(OPERATOR_ONLY)])
def test_creators_are_403_on_operator_routes(path, method, creator, operator, client_for):
    assert getattr(client_for(creator), method)(path).status_code == 403
    assert getattr(client_for(operator), method)(path).status_code != 403


@pytest.mark.parametrize("path, method", [r for r in ROUTES if r[0] not in PUBLIC and "/events/" not in r[0]])
def test_no_route_answers_a_signed_in_caller_with_a_500(path, method, creator, client_for):
    response = getattr(client_for(creator), method)(path, {}, format="json")
    assert response.status_code < 500, f"{method.upper()} {path}: {response.status_code}"


# Objects whose fields follow another object's access: an evaluation is seen by whoever sees its
# generator, but its samples (quotes of its dataset) and its dataset's name only by those who may read
# the dataset (issue 21, finding 2).
@pytest.mark.parametrize(
    "reader, reads_samples", [("dataset owner", True), ("admin", True), ("another operator", False), ("creator", False)]
)
def test_evaluation_samples_follow_the_dataset(reader, reads_samples, builtin, operator, make_user, client_for):
    from tests.tools_layer.training_data import text_version
    from tools_layer.evaluation.models import Evaluation

    version = text_version(operator, count=4, name="private prose")
    evaluation = Evaluation.objects.create(
        owner=operator,
        version=builtin,
        dataset_version=version,
        max_items=2,
        samples=[{"item": 1, "prompt": "a private prompt", "references": ["x"], "output": "y"}],
    )
    user = {
        "dataset owner": operator,
        "admin": make_user("admin"),
        "another operator": make_user("operator"),
        "creator": make_user("creator"),
    }[reader]
    for path in (f"/api/v1/evaluations/{evaluation.pk}/", "/api/v1/evaluations/"):
        response = client_for(user).get(path)
        assert response.status_code == 200
        body = response.json() if path.endswith(f"{evaluation.pk}/") else response.json()["results"][0]
        assert (len(body["samples"]) == 1, body["dataset"] == "private prose v1") == (reads_samples, reads_samples)


# A job's queue is the platform's choice: a creator names none, an operator or admin only one that
# exists, and nobody a broker transport key (issue 21, finding 1).
@pytest.mark.parametrize(
    "role, queue, expected",
    [
        ("creator", "default", 403),
        ("creator", "unacked", 403),
        ("creator", None, 202),
        ("operator", "default", 202),
        ("operator", "unacked", 400),
        ("operator", "no-such-queue", 400),
        ("admin", "inference", 202),
        ("admin", "_kombu.binding.celery", 400),
        ("creator", {"gpus": 1}, 403),
        ("operator", {"gpus": 1}, 202),
    ],
)
def test_who_may_choose_a_jobs_queue(role, queue, expected, make_user, client_for):
    choice = queue if isinstance(queue, dict) else {"queue": queue} if queue else {}
    body = {"kind": "echo", "params": {"steps": 1, "delay": 0}, **choice}
    response = client_for(make_user(role)).post("/api/v1/jobs/", body, format="json")
    assert response.status_code == expected, response.content
    if expected == 202 and not isinstance(queue, dict):
        assert response.json()["queue"] == (queue or "default")
