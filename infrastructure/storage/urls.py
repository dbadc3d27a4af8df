"""Storage's routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from infrastructure.storage import api, views

api_urlpatterns = [
    path("files/", api.FileListApi.as_view(), name="file-list"),
    path("files/<uuid:pk>/", api.FileDetailApi.as_view(), name="file-detail"),
    path("files/<uuid:pk>/download/", api.FileDownloadApi.as_view(), name="file-download"),
]

urlpatterns = [
    path("storage/", views.storage_page, name="storage"),
]
