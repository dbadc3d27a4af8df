"""Courseware: a lesson (its request, and the plan, slides and quiz its job wrote) owned by its creator."""

from django.conf import settings
from django.db import models


class Lesson(models.Model):
    """One request for courseware and what the generator wrote for it.

    `lesson_plan` is {"objectives", "overview", "activities": [{"name", "minutes", "description"}], "total_minutes"};
    `slides` is [{"title", "bullets", "notes"}]; `quiz` is [{"question", "choices", "answer", "explanation"}];
    `checks` holds, per section (lesson_plan, outline of slide titles, slides, quiz) and item,
    {"checks", "passed", "attempts", "tries"} (tries: the checks each attempt failed).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lessons")
    topic = models.CharField(max_length=200)
    grade_level = models.PositiveSmallIntegerField(help_text="1-12, or 13 for college.")
    objectives = models.JSONField(default=list)
    slide_count = models.PositiveSmallIntegerField()
    quiz_questions = models.PositiveSmallIntegerField()
    language = models.CharField(max_length=8)
    generator = models.CharField(max_length=120, blank=True, help_text="The generator version that wrote it.")
    lesson_plan = models.JSONField(default=dict, blank=True)
    slides = models.JSONField(default=list, blank=True)
    quiz = models.JSONField(default=list, blank=True)
    checks = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.topic

    @property
    def passed(self) -> bool:
        """Every written section passed every check."""
        entries = (
            [self.checks.get("lesson_plan"), self.checks.get("outline")]
            + list(self.checks.get("slides", []))
            + list(self.checks.get("quiz", []))
        )
        return bool(self.slides) and all(entry and entry.get("passed") for entry in entries)
