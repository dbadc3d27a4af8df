"""OpenAPI additions for the whole API: the one error shape, documented on every operation."""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        }
    },
}

ERROR_STATUSES = {
    "400": "Invalid input: the fields that are wrong are named in `error.fields`.",
    "401": "Not signed in, or the token or API key is invalid or revoked.",
    "403": "Signed in, but this role may not do this.",
    "404": "No such object, or another user's.",
    "405": "Method not allowed.",
    "409": "The object is in a state that does not allow this.",
    "413": "Over the maximum size or the quota.",
    "415": "Unsupported media type.",
    "429": "Over the rate limit or quota; retry later.",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result
