"""Compute's routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from infrastructure.compute import api, views

api_urlpatterns = [
    path("jobs/", api.JobListApi.as_view(), name="job-list"),
    path("jobs/<uuid:pk>/", api.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<uuid:pk>/cancel/", api.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<uuid:pk>/retry/", api.JobRetryApi.as_view(), name="job-retry"),
    path("jobs/<uuid:pk>/events/", api.job_events, name="job-events"),
    path("workers/", api.WorkerListApi.as_view(), name="worker-list"),
    path("workers/<int:pk>/", api.WorkerDetailApi.as_view(), name="worker-detail"),
    path("workers/<int:pk>/drain/", api.WorkerDrainApi.as_view(), name="worker-drain"),
    path("workers/<int:pk>/resume/", api.WorkerResumeApi.as_view(), name="worker-resume"),
    path("queues/", api.QueueListApi.as_view(), name="queue-list"),
]

urlpatterns = [
    path("jobs/", views.jobs_page, name="jobs"),
    path("jobs/<uuid:pk>/", views.job_page, name="job"),
    path("workers/", views.workers_page, name="workers"),
]
