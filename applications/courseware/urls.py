"""Courseware's routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from applications.courseware import api, views

api_urlpatterns = [
    path("courseware/", api.LessonListApi.as_view(), name="courseware-lesson-list"),
    path("courseware/<int:pk>/", api.LessonDetailApi.as_view(), name="courseware-lesson-detail"),
    path("courseware/<int:pk>/slides/<int:index>/", api.SlideDetailApi.as_view(), name="courseware-slide-detail"),
    path(
        "courseware/<int:pk>/slides/<int:index>/regenerate/",
        api.SlideRegenerateApi.as_view(),
        name="courseware-slide-regenerate",
    ),
    path(
        "courseware/<int:pk>/slides/<int:index>/review/", api.SlideReviewApi.as_view(), name="courseware-slide-review"
    ),
    path("courseware/<int:pk>/quiz/<int:index>/", api.QuestionDetailApi.as_view(), name="courseware-question-detail"),
    path(
        "courseware/<int:pk>/quiz/<int:index>/review/",
        api.QuestionReviewApi.as_view(),
        name="courseware-question-review",
    ),
    path(
        "courseware/<int:pk>/quiz/<int:index>/regenerate/",
        api.QuestionRegenerateApi.as_view(),
        name="courseware-question-regenerate",
    ),
    path("courseware/<int:pk>/export/", api.LessonExportApi.as_view(), name="courseware-lesson-export"),
]

urlpatterns = [
    path("courseware/", views.creator_page, name="courseware"),
]
