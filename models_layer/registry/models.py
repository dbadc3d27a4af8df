"""Generators and their versions: weights in object storage, a model card, a stage and a lineage."""
from django.conf import settings
from django.db import models


class GeneratorKind(models.TextChoices):
    TEXT = "text"
    IMAGE = "image"


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private: its owner (and staff) only"
    PUBLIC = "public", "Public: every signed-in user"


class Generator(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=GeneratorKind.choices)
    backend = models.CharField(
        max_length=64, default="transformers", help_text="The runtime backend that loads its versions (models_layer.runtime)."
    )
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="generators",
        help_text="Empty for a built-in generator.",
    )
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class VersionFormat(models.TextChoices):
    GGUF = "gguf", "GGUF file"
    HF = "hf", "Hugging Face checkpoint (zipped folder)"
    TORCH = "torch", "PyTorch state dict with its config"


class Stage(models.TextChoices):
    DRAFT = "draft"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


class GeneratorVersion(models.Model):
    generator = models.ForeignKey(Generator, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    artifact = models.ForeignKey("storage.File", on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=16, choices=VersionFormat.choices)
    parameters = models.JSONField(default=dict, blank=True, help_text="Backend options and default sampling parameters.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Evaluation metrics, e.g. from its training job.")
    model_card = models.TextField(blank=True, help_text="Markdown.")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.DRAFT, db_index=True)

    validated_at = models.DateTimeField(null=True, blank=True, help_text="When its validation job proved it loads and generates.")
    validation_error = models.TextField(blank=True)
    validation_job = models.ForeignKey("compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    # Lineage. The dataset version lives in the tools layer above, so it is referenced by id, not by key.
    base_version = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="derived_versions")
    training_job = models.ForeignKey("compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    dataset_version_ref = models.CharField(max_length=64, blank=True, help_text="Id of the dataset version it was trained on.")
    replaced_version = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The production version this one replaced when promoted; what a rollback returns to.",
    )

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True, help_text="When it last reached production.")

    class Meta:
        ordering = ["generator", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["generator", "number"], name="generator_version_number_unique"),
            models.UniqueConstraint(
                fields=["generator"], condition=models.Q(stage="production"), name="generator_one_production_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.generator.slug} v{self.number} ({self.stage})"

    @property
    def is_validated(self) -> bool:
        return self.validated_at is not None
