"""Comparison routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from tools_layer.arena import api, views

api_urlpatterns = [
    path("comparisons/", api.ComparisonListApi.as_view(), name="comparison-list"),
    path("comparisons/prompt-sources/", api.PromptSourcesApi.as_view(), name="comparison-prompt-sources"),
    path("comparisons/<uuid:pk>/", api.ComparisonDetailApi.as_view(), name="comparison-detail"),
]

urlpatterns = [
    path("evaluations/comparisons/", views.comparisons_page, name="comparisons"),
    path("evaluations/comparisons/<uuid:pk>/", views.comparison_page, name="comparison-page"),
]
