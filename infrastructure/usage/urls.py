"""Usage's routes: `api_urlpatterns` under /api/v1/."""

from django.urls import path

from infrastructure.usage import api

api_urlpatterns = [
    path("usage/", api.UsageApi.as_view(), name="usage"),
]
