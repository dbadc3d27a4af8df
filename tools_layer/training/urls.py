"""Training routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from tools_layer.training import api, views

api_urlpatterns = [
    path("training-jobs/", api.TrainingJobListApi.as_view(), name="training-job-list"),
    path("training-jobs/<uuid:pk>/", api.TrainingJobDetailApi.as_view(), name="training-job-detail"),
    path("training-jobs/<uuid:pk>/metrics/", api.TrainingJobMetricsApi.as_view(), name="training-job-metrics"),
    path("training-recipes/", api.TrainingRecipeListApi.as_view(), name="training-recipes"),
]

urlpatterns = [
    path("training/", views.training_page, name="training"),
    path("training/new/", views.training_submit_page, name="training-new"),
    path("training/compare/", views.training_compare_page, name="training-compare"),
    path("training/<uuid:pk>/", views.training_run_page, name="training-run"),
]
