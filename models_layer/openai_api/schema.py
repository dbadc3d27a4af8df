"""How `Authorization: Bearer` appears in the OpenAPI schema (drf-spectacular finds this extension when imported)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "models_layer.openai_api.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (aigc_…) or a REST token, as OpenAI's clients send their key.",
        }
