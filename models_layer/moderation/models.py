"""A moderation policy: one rule of this deployment's content filter (a word list, a regular expression
or a classifier generator), and which way it looks (inputs, outputs or both)."""

from django.conf import settings
from django.db import models


class PolicyKind(models.TextChoices):
    WORDS = "words", "Word list"
    REGEX = "regex", "Regular expression"
    CLASSIFIER = "classifier", "Classifier generator"


class AppliesTo(models.TextChoices):
    BOTH = "both", "Inputs and outputs"
    INPUTS = "inputs", "Inputs (prompts, messages, form fields)"
    OUTPUTS = "outputs", "Outputs (generated text)"


class ModerationPolicy(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=PolicyKind.choices)
    description = models.CharField(max_length=300, blank=True)
    enabled = models.BooleanField(default=True)
    applies_to = models.CharField(max_length=16, choices=AppliesTo.choices, default=AppliesTo.BOTH)
    language = models.CharField(
        max_length=16,
        blank=True,
        help_text="Word lists: the language the list is for (every list applies to every text).",
    )
    terms = models.JSONField(default=list, blank=True, help_text="Word lists: the blocked words and phrases.")
    pattern = models.TextField(
        blank=True, help_text="Regular expressions: blocks a text it is found in (`regex` syntax)."
    )
    classifier = models.ForeignKey(
        "registry.Generator",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="moderation_policies",
        help_text="Classifiers: a text generator asked for one of `labels`; its production version answers.",
    )
    instructions = models.TextField(blank=True, help_text="Classifiers: the system prompt (empty: the default).")
    labels = models.JSONField(default=list, blank=True, help_text="Classifiers: the labels it may answer.")
    blocked_labels = models.JSONField(default=list, blank=True, help_text="Classifiers: the labels that block.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "moderation policies"

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def looks_at(self, direction: str) -> bool:
        return self.applies_to == AppliesTo.BOTH or self.applies_to == f"{direction}s"
