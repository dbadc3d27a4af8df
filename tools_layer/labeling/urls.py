"""Labeling routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from tools_layer.labeling import api, views

api_urlpatterns = [
    path("labeling/projects/", api.ProjectListApi.as_view(), name="labeling-projects"),
    path("labeling/projects/<uuid:pk>/", api.ProjectDetailApi.as_view(), name="labeling-project"),
    path("labeling/projects/<uuid:pk>/members/", api.ProjectMembersApi.as_view(), name="labeling-members"),
    path("labeling/projects/<uuid:pk>/members/<str:username>/", api.ProjectMemberApi.as_view(), name="labeling-member"),
    path("labeling/projects/<uuid:pk>/next-task/", api.NextTaskApi.as_view(), name="labeling-next-task"),
    path("labeling/projects/<uuid:pk>/progress/", api.ProjectProgressApi.as_view(), name="labeling-progress"),
    path("labeling/projects/<uuid:pk>/agreement/", api.ProjectAgreementApi.as_view(), name="labeling-agreement"),
    path(
        "labeling/projects/<uuid:pk>/annotations/",
        api.ProjectAnnotationsApi.as_view(),
        name="labeling-project-annotations",
    ),
    path("labeling/projects/<uuid:pk>/outputs/", api.ProjectOutputsApi.as_view(), name="labeling-outputs"),
    path("labeling/projects/<uuid:pk>/proposals/", api.ProjectProposalsApi.as_view(), name="labeling-proposals"),
    path("labeling/projects/<uuid:pk>/pre-annotate/", api.ProjectPreannotateApi.as_view(), name="labeling-preannotate"),
    path("labeling/projects/<uuid:pk>/export/", api.ProjectExportApi.as_view(), name="labeling-export"),
    path("labeling/tasks/<int:pk>/annotations/", api.TaskAnnotationsApi.as_view(), name="labeling-task-annotations"),
    path("labeling/tasks/<int:pk>/release/", api.TaskReleaseApi.as_view(), name="labeling-task-release"),
    path("labeling/tasks/<int:pk>/image/", api.TaskImageApi.as_view(), name="labeling-task-image"),
    path("labeling/annotations/<int:pk>/", api.AnnotationDetailApi.as_view(), name="labeling-annotation"),
    path("labeling/annotations/<int:pk>/review/", api.AnnotationReviewApi.as_view(), name="labeling-annotation-review"),
]

urlpatterns = [
    path("labeling/", views.projects_page, name="labeling"),
    path("labeling/<uuid:pk>/", views.project_page, name="labeling-project-page"),
    path("labeling/<uuid:pk>/label/", views.label_page, name="labeling-label"),
]
