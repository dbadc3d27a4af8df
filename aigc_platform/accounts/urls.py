"""Accounts routes: `api_urlpatterns` under /api/v1/."""

from django.urls import path

from aigc_platform.accounts import api

api_urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="auth-token"),
    path("auth/token/revoke/", api.TokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("auth/me/", api.MeApi.as_view(), name="auth-me"),
    path("api-keys/", api.ApiKeyListApi.as_view(), name="api-key-list"),
    path("api-keys/<int:pk>/", api.ApiKeyRevokeApi.as_view(), name="api-key-detail"),
]
