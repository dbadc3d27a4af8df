"""Provenance's routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from infrastructure.provenance import api, views

api_urlpatterns = [
    path("provenance/<uuid:pk>/", api.ProvenanceDetailApi.as_view(), name="provenance-detail"),
]

urlpatterns = [
    path("provenance/<uuid:pk>", views.record_page, name="provenance"),
    path("provenance/<uuid:pk>/", views.record_page),  # the same page, for links written with a slash
]
