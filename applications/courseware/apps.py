from django.apps import AppConfig


class CoursewareConfig(AppConfig):
    name = "applications.courseware"
    label = "courseware"
    verbose_name = "Courseware"
