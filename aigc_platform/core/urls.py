"""Core routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from aigc_platform.core import views

api_urlpatterns = [
    path("health/", views.HealthApi.as_view(), name="health"),
]

urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("api-keys/", views.api_keys_page, name="api-keys"),
]
