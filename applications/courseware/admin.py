from django.contrib import admin

from applications.courseware.models import Lesson


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "topic",
        "owner",
        "grade_level",
        "language",
        "slide_count",
        "quiz_questions",
        "generator",
        "created_at",
    ]
    list_filter = ["language", "grade_level"]
    search_fields = ["topic", "owner__username"]
    readonly_fields = ["job", "generator", "created_at", "updated_at"]
