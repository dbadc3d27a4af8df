"""OpenAPI for the job event stream: it is a plain async Django view (DRF views cannot stream
asynchronously), so drf-spectacular does not see it; this hook documents it in the schema. A second hook
documents the Location header of every answer that says a job started (serializers.job_started_response)."""

EVENTS_PATH = "/api/v1/jobs/{id}/events/"


def add_job_events_path(result, generator, request, public):
    result.setdefault("paths", {})[EVENTS_PATH] = {
        "get": {
            "operationId": "jobs_events_retrieve",
            "summary": "Follow a job's live events (server-sent events)",
            "description": (
                "A `snapshot` event with the job as it is now, then `status`, `progress`, `log`, `token`, "
                "`metrics` and `sample` events until the job ends. Reconnect with the `Last-Event-ID` header "
                "(or `?last_event_id=`) to resume after the last event seen."
            ),
            "tags": ["jobs"],
            "parameters": [
                {"in": "path", "name": "id", "required": True, "schema": {"type": "string", "format": "uuid"}},
                {"in": "query", "name": "last_event_id", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "The event stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "401": {"description": "Not signed in."},
                "404": {"description": "No such job, or another user's."},
            },
            "security": [{"tokenAuth": []}, {"apiKeyAuth": []}, {"cookieAuth": []}],
        }
    }
    return result


LOCATION_HEADER = {"description": "The started job: /api/v1/jobs/{id}/.", "schema": {"type": "string"}}


def add_job_started_location(result, generator, request, public):
    """Every answer whose body is a started job (a JobStarted schema: the Job plus `object`) carries Location."""
    schemas = result.get("components", {}).get("schemas", {})
    started = {
        f"#/components/schemas/{name}"
        for name, schema in schemas.items()
        if {"object", "kind", "attempt"} <= set(schema.get("properties", {}))
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values() if isinstance(operation, dict) else ():
                ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                if ref in started:
                    response.setdefault("headers", {})["Location"] = LOCATION_HEADER
    return result
