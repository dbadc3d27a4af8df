"""Labeling projects over a dataset version: tasks, the slots annotators lock, annotations, reviews."""

import uuid

from django.conf import settings
from django.db import models


class TaskType(models.TextChoices):
    SINGLE_LABEL = "single_label"
    MULTI_LABEL = "multi_label"
    RATING = "rating"
    PAIRWISE = "pairwise"
    CORRECTION = "correction"


class LabelingProject(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="labeling_projects")
    name = models.CharField(max_length=200)
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for a project fed by generated outputs.",
    )
    task_type = models.CharField(max_length=16, choices=TaskType.choices)
    labels = models.JSONField(default=list, blank=True, help_text="The classes of a (multi-)label classification.")
    instructions = models.TextField(blank=True)
    overlap = models.PositiveSmallIntegerField(default=1, help_text="How many annotators label each task.")
    lock_seconds = models.PositiveIntegerField(default=600, help_text="How long a task handed out stays reserved.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(overlap__gte=1) & models.Q(overlap__lte=20), name="labeling_overlap_1_20"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MemberRole(models.TextChoices):
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"


class ProjectMember(models.Model):
    project = models.ForeignKey(LabelingProject, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="labeling_memberships")
    role = models.CharField(max_length=16, choices=MemberRole.choices, default=MemberRole.ANNOTATOR)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="labeling_member_unique")]


class LabelingTask(models.Model):
    """What is labelled: a dataset item, or a generated output (`payload`) sent for rating."""

    project = models.ForeignKey(LabelingProject, on_delete=models.CASCADE, related_name="tasks")
    item = models.ForeignKey("datasets.DatasetItem", on_delete=models.RESTRICT, null=True, blank=True, related_name="+")
    payload = models.JSONField(null=True, blank=True, help_text="{text} or {prompt, a, b} when the task has no item.")
    source = models.JSONField(default=dict, blank=True, help_text="Where a generated output came from.")
    proposal = models.JSONField(null=True, blank=True, help_text="A pre-annotation for annotators to correct.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "id"])]


class SlotStatus(models.TextChoices):
    OPEN = "open"
    LOCKED = "locked"
    SUBMITTED = "submitted"


class TaskSlot(models.Model):
    """One of a task's `overlap` places for an annotation. `next-task` locks an open slot (or one whose
    lock expired) for one annotator; the slot holds them until they submit or the lock runs out."""

    project = models.ForeignKey(LabelingProject, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(LabelingTask, on_delete=models.CASCADE, related_name="slots")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=SlotStatus.choices, default=SlotStatus.OPEN)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # next-task walks only the slots still to do, in task order.
            models.Index(
                fields=["project", "task", "id"], condition=~models.Q(status="submitted"), name="labeling_slot_todo"
            ),
            models.Index(fields=["task", "annotator"]),
            models.Index(fields=["project", "annotator", "status"]),
        ]
        constraints = [
            # One place per person in a task, also when one person asks for two tasks at the same moment
            # (each reservation's snapshot misses the other's: task_next retries the loser).
            models.UniqueConstraint(
                fields=["task", "annotator"],
                condition=models.Q(annotator__isnull=False),
                name="labeling_slot_one_per_annotator",
            ),
        ]


class AnnotationStatus(models.TextChoices):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Annotation(models.Model):
    task = models.ForeignKey(LabelingTask, on_delete=models.CASCADE, related_name="annotations")
    slot = models.ForeignKey(TaskSlot, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations")
    value = models.JSONField()
    status = models.CharField(max_length=16, choices=AnnotationStatus.choices, default=AnnotationStatus.SUBMITTED)
    seconds_spent = models.FloatField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["task", "status"]), models.Index(fields=["annotator", "-id"])]
        constraints = [
            # One live (not rejected) annotation per person and task.
            models.UniqueConstraint(
                fields=["task", "annotator"],
                condition=~models.Q(status="rejected"),
                name="labeling_one_live_annotation",
            ),
        ]
