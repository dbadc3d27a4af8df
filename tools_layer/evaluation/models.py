"""An evaluation of one generator version: its settings, its Job, and the metrics it measured."""

import uuid

from django.conf import settings
from django.db import models


class Evaluation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evaluations")
    version = models.ForeignKey("registry.GeneratorVersion", on_delete=models.CASCADE, related_name="evaluations")
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Text: whose validation split is scored. Image: optional real images to compare diversity with.",
    )
    job = models.OneToOneField("compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    max_items = models.PositiveIntegerField(
        help_text="Validation items scored and generated from (text), or images sampled (image)."
    )
    max_new_tokens = models.PositiveIntegerField(
        default=64, help_text="Text: the longest answer generated for BLEU and ROUGE."
    )
    seed = models.BigIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    samples = models.JSONField(
        default=list, blank=True, help_text="Text: a few prompts with their reference and the generated answer."
    )
    grid = models.ForeignKey(
        "storage.File",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Image: a PNG grid of generated samples.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["version", "-created_at"])]

    def __str__(self) -> str:
        return f"evaluation {self.pk} of {self.version}"
