"""Evaluation routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from tools_layer.evaluation import api, views

api_urlpatterns = [
    path("evaluations/", api.EvaluationListApi.as_view(), name="evaluation-list"),
    path("evaluations/<uuid:pk>/", api.EvaluationDetailApi.as_view(), name="evaluation-detail"),
    path("evaluations/<uuid:pk>/grid/", api.EvaluationGridApi.as_view(), name="evaluation-grid"),
]

urlpatterns = [
    path("evaluations/", views.evaluations_page, name="evaluations"),
]
