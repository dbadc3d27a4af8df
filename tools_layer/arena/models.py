"""A blind comparison of text generator versions: its prompts, each version's answers, and which
version's answer each pairwise labelling task shows as A and as B."""

import uuid

from django.conf import settings
from django.db import models

DATASET_PROMPTS = "dataset"


class Comparison(models.Model):
    """Two or more text generator versions answer the same prompts; people judge the answers in pairs
    without knowing which version wrote which (its labelling `project`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comparisons")
    name = models.CharField(max_length=200)
    prompt_source = models.CharField(
        max_length=100,
        help_text='"dataset", or the label of the app whose recent requests gave the prompts '
        "(selectors.arena_prompt_sources).",
    )
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    prompts = models.JSONField(default=list, help_text="The prompts, fixed when the comparison was made.")
    max_new_tokens = models.PositiveIntegerField(default=128)
    temperature = models.FloatField(default=0.7)
    seed = models.BigIntegerField(default=0)
    annotators = models.JSONField(default=list, blank=True, help_text="Usernames made annotators of its project.")
    overlap = models.PositiveSmallIntegerField(default=1, help_text="Judgements asked for each pair of answers.")
    job = models.OneToOneField("compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    project = models.OneToOneField(
        "labeling.LabelingProject",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The pairwise labelling project its job made once every version had answered.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class ComparisonEntrant(models.Model):
    """One version in a comparison and its answers, one per prompt (in the comparison's order; an
    empty answer where the prompt was too long for it)."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="entrants")
    version = models.ForeignKey("registry.GeneratorVersion", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    outputs = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["comparison", "position"]
        constraints = [
            models.UniqueConstraint(fields=["comparison", "version"], name="arena_entrant_once"),
            models.UniqueConstraint(fields=["comparison", "position"], name="arena_entrant_position"),
        ]


class ComparisonPair(models.Model):
    """Which version's answer a labelling task shows as A (`first`) and which as B (`second`). Kept here
    and only here: the task itself holds the prompt and two texts, and nothing that names a version."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="pairs")
    task = models.OneToOneField("labeling.LabelingTask", on_delete=models.CASCADE, related_name="+")
    prompt_index = models.PositiveIntegerField()
    first = models.ForeignKey(ComparisonEntrant, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(ComparisonEntrant, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["comparison", "task"]
