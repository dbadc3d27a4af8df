"""Datasets routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from tools_layer.datasets import api, views

api_urlpatterns = [
    path("datasets/", api.DatasetListApi.as_view(), name="dataset-list"),
    path("datasets/<uuid:pk>/", api.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("datasets/<uuid:pk>/items/", api.DatasetItemListApi.as_view(), name="dataset-items"),
    path(
        "datasets/<uuid:pk>/items/<int:item_pk>/content/",
        api.DatasetItemContentApi.as_view(),
        name="dataset-item-content",
    ),
    path("datasets/<uuid:pk>/import/", api.DatasetImportApi.as_view(), name="dataset-import"),
    path("datasets/<uuid:pk>/versions/", api.DatasetVersionListApi.as_view(), name="dataset-versions"),
    path(
        "datasets/<uuid:pk>/versions/<uuid:version_pk>/", api.DatasetVersionDetailApi.as_view(), name="dataset-version"
    ),
    path(
        "datasets/<uuid:pk>/versions/<uuid:version_pk>/prepare/",
        api.DatasetVersionPrepareApi.as_view(),
        name="dataset-version-prepare",
    ),
    path(
        "datasets/<uuid:pk>/versions/<uuid:version_pk>/preview/",
        api.DatasetVersionPreviewApi.as_view(),
        name="dataset-version-preview",
    ),
    path(
        "datasets/<uuid:pk>/versions/<uuid:version_pk>/compare/",
        api.DatasetVersionCompareApi.as_view(),
        name="dataset-version-compare",
    ),
]

urlpatterns = [
    path("datasets/", views.datasets_page, name="datasets"),
    path("datasets/<uuid:pk>/", views.dataset_page, name="dataset"),
    path("datasets/<uuid:pk>/prepare/", views.dataset_prepare_page, name="dataset-prepare"),
]
