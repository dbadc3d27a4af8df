"""One way across the API (issue 24): every endpoint that starts a job answers 202 with the Job, what the request
made (or the job works on) and a Location header; views check roles through permission classes only; the generate
endpoint validates `wait` and `version` with serializers."""

import re
from pathlib import Path

import pytest

from infrastructure.compute.models import Job
from infrastructure.compute.serializers import JobSerializer

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
JOB_FIELDS = set(JobSerializer.Meta.fields)
# Every endpoint that starts (or starts again) a job.
JOB_STARTING = [
    "/api/v1/jobs/",
    "/api/v1/jobs/{id}/retry/",
    "/api/v1/generators/{slug}/generate/",
    "/api/v1/datasets/{id}/import/",
    "/api/v1/datasets/{id}/versions/{version_pk}/prepare/",
    "/api/v1/datasets/{id}/versions/{version_pk}/preview/",
    "/api/v1/labeling/projects/{id}/export/",
    "/api/v1/labeling/projects/{id}/pre-annotate/",
    "/api/v1/training-jobs/",
    "/api/v1/evaluations/",
    "/api/v1/comparisons/",
    "/api/v1/marketing/generations/",
    "/api/v1/marketing/variants/{id}/regenerate/",
    "/api/v1/courseware/",
    "/api/v1/courseware/{id}/slides/{index}/regenerate/",
    "/api/v1/courseware/{id}/quiz/{index}/regenerate/",
]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def component(schema, response) -> dict:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})


@pytest.mark.parametrize("path", JOB_STARTING)
def test_each_job_starting_endpoint_documents_202_with_the_job_what_it_made_and_its_location(schema, path):
    responses = schema["paths"][path]["post"]["responses"]
    started = component(schema, responses["202"])
    assert JOB_FIELDS | {"object"} <= set(started["properties"]), path
    assert "Location" in responses["202"]["headers"], path
    assert not {"200", "201"} & set(responses) or path.endswith("/generate/"), path


def test_no_post_answers_a_job_any_other_way(schema):
    """A new endpoint that answers a job with 201 (or without `object`) fails here."""
    found = []
    for path, operations in schema["paths"].items():
        for code, response in operations.get("post", {}).get("responses", {}).items():
            properties = set(component(schema, response).get("properties", {}))
            if {"kind", "attempt", "max_attempts"} <= properties:
                found.append((path, code, "object" in properties))
    # cancel answers the job as it is (nothing starts); generate with ?wait answers the finished job, 200
    expected = {(path, "202", True) for path in JOB_STARTING} | {
        ("/api/v1/generators/{slug}/generate/", "200", True),
        ("/api/v1/jobs/{id}/cancel/", "200", False),
    }
    assert set(found) == expected


def test_a_generic_job_answers_202_with_its_location_and_no_object(creator, client_for):
    response = client_for(creator).post(
        "/api/v1/jobs/", {"kind": "echo", "params": {"steps": 1, "delay": 0}}, format="json"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/jobs/{body['id']}/" and body["object"] is None
    assert Job.objects.get(pk=body["id"]).status == body["status"] == "queued"


def test_generate_answers_the_started_job_and_the_generator(builtin, creator, client_for):
    response = client_for(creator).post(
        f"/api/v1/generators/{builtin.generator.slug}/generate/", {"prompt": "Hi"}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["object"] == {"type": "generator", "id": builtin.generator.slug}
    assert Job.objects.get(pk=response.json()["id"]).kind == "generate"


@pytest.mark.parametrize(
    "query, body, field",
    [
        ("?wait=soon", {}, "wait"),
        ("?wait=-1", {}, "wait"),
        ("", {"version": "first"}, "version"),
        ("", {"version": 0}, "version"),
        ("", {"version": True}, "version"),
        ("", {"version": [1]}, "version"),
    ],
)
def test_generate_refuses_a_bad_wait_or_version_naming_the_field(builtin, creator, client_for, query, body, field):
    response = client_for(creator).post(
        f"/api/v1/generators/{builtin.generator.slug}/generate/{query}", {"prompt": "Hi", **body}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Job.objects.exists()


def test_the_schema_documents_wait_and_version(schema):
    operation = schema["paths"]["/api/v1/generators/{slug}/generate/"]["post"]
    wait = next(p for p in operation["parameters"] if p["name"] == "wait")
    assert wait["in"] == "query" and wait["schema"]["type"] == "number" and wait["schema"]["minimum"] == 0
    assert "200" in operation["responses"] and "202" in operation["responses"]


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/generators/", {"slug": "mine", "name": "Mine", "kind": "text"}),
        ("/api/v1/evaluations/", {"generator": "smollm2-135m-instruct"}),
        ("/api/v1/labeling/projects/", {"name": "Mine", "kind": "label"}),
    ],
)
def test_creators_read_but_only_operators_create_where_a_permission_class_says_so(
    path, body, creator, operator, client_for
):
    assert client_for(creator).get(path).status_code == 200
    refused = client_for(creator).post(path, body, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    # an operator gets past the role check (to the request's own validation, or further)
    assert client_for(operator).post(path, body, format="json").status_code != 403


def test_an_operator_adds_no_version_to_another_operators_public_generator(operator, make_user, client_for):
    created = client_for(operator).post(
        "/api/v1/generators/",
        {"slug": "shared", "name": "Shared", "kind": "text", "visibility": "public"},
        format="json",
    )
    assert created.status_code == 201, created.content
    refused = client_for(make_user("operator")).post(
        "/api/v1/generators/shared/versions/", {"file_id": 1, "format": "gguf"}, format="json"
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"


def test_views_check_roles_only_through_permission_classes():
    """No API view checks a role by hand: they name a class of aigc_platform.accounts.permissions."""
    by_hand = re.compile(r"user_has_role\(|\.has_permission\(request|class \w+\(BasePermission\)")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in ROOT.glob("*/*/api.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if by_hand.search(line)
    ]
    # The jobs API's field rule (only operators pick a queue or GPUs) is about the request's data, not the route.
    assert [offender.split(":")[0] for offender in offenders] == ["infrastructure/compute/api.py"], offenders


def test_the_runtime_finds_the_default_version_through_what_the_registry_registered(builtin):
    from models_layer.runtime import service

    assert service._default_version() == builtin
