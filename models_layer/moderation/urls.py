"""Moderation routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for the page."""

from django.urls import path

from models_layer.moderation import api, views

api_urlpatterns = [
    path("moderation/policies/", api.PolicyListApi.as_view(), name="moderation-policy-list"),
    path("moderation/policies/<slug:name>/", api.PolicyDetailApi.as_view(), name="moderation-policy-detail"),
    path("moderation/check/", api.CheckApi.as_view(), name="moderation-check"),
    path("moderation/blocks/", api.BlockListApi.as_view(), name="moderation-block-list"),
]

urlpatterns = [path("moderation/", views.moderation_page, name="moderation")]
