"""How API keys appear in the OpenAPI schema (drf-spectacular finds this extension when imported)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "aigc_platform.accounts.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API key with the prefix "Api-Key", e.g. "Api-Key aigc_…" (or the X-API-Key header).',
        }
