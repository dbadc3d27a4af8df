"""The OpenAI-compatible API's routes, at the site's root under /v1/ (where OpenAI's clients expect a
`base_url` ending in /v1 to lead), with or without a trailing slash."""

from django.urls import re_path

from models_layer.openai_api import api

urlpatterns = [
    re_path(r"^v1/models/?$", api.ModelListApi.as_view(), name="openai-models"),
    re_path(r"^v1/models/(?P<model>[^/]+)/?$", api.ModelDetailApi.as_view(), name="openai-model"),
    re_path(r"^v1/chat/completions/?$", api.ChatCompletionsApi.as_view(), name="openai-chat-completions"),
    re_path(r"^v1/completions/?$", api.CompletionsApi.as_view(), name="openai-completions"),
]
