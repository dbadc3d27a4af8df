from django.apps import AppConfig


class OpenAIApiConfig(AppConfig):
    name = "models_layer.openai_api"
    label = "openai_api"
    verbose_name = "OpenAI-compatible API"

    def ready(self) -> None:
        from models_layer.openai_api import schema  # noqa: F401 (registers the Bearer scheme with drf-spectacular)
