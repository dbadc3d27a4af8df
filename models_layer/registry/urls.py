"""The registry's routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from models_layer.registry import api, views

api_urlpatterns = [
    path("generators/", api.GeneratorListApi.as_view(), name="generator-list"),
    path("generators/<slug:slug>/", api.GeneratorDetailApi.as_view(), name="generator-detail"),
    path("generators/<slug:slug>/generate/", api.GeneratorGenerateApi.as_view(), name="generator-generate"),
    path("generators/<slug:slug>/versions/", api.GeneratorVersionUploadApi.as_view(), name="generator-version-upload"),
    path(
        "generators/<slug:slug>/versions/<int:number>/promote/",
        api.GeneratorVersionPromoteApi.as_view(),
        name="generator-version-promote",
    ),
    path("generators/<slug:slug>/rollback/", api.GeneratorRollbackApi.as_view(), name="generator-rollback"),
    path(
        "generators/<slug:slug>/remote-versions/",
        api.RemoteVersionCreateApi.as_view(),
        name="generator-remote-version-create",
    ),
    path("remote-generators/", api.RemoteGeneratorCreateApi.as_view(), name="remote-generator-create"),
    path("remote-endpoints/", api.RemoteEndpointListApi.as_view(), name="remote-endpoint-list"),
    path("remote-endpoints/<slug:name>/", api.RemoteEndpointDetailApi.as_view(), name="remote-endpoint-detail"),
]

urlpatterns = [
    path("generators/", views.generators_page, name="generators"),
    path("playground/", views.playground_page, name="playground"),
]
