"""Generators and their versions: weights in object storage (or a model on a remote engine), a model
card, a stage and a lineage; and the remote engines an admin registered."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
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
        max_length=64,
        default="transformers",
        help_text="The runtime backend that loads its versions (models_layer.runtime).",
    )
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="generators",
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
    REMOTE = "remote", "A model served by a remote OpenAI-compatible engine"


class StructuredOutput(models.TextChoices):
    """How a remote engine is asked for JSON that fits a schema."""

    JSON_SCHEMA = "json_schema", "response_format json_schema (OpenAI, vLLM, SGLang, llama.cpp server, Ollama)"
    GUIDED_JSON = "guided_json", "The guided_json parameter (older vLLM)"
    NONE = "none", "Not supported: the platform asks in the prompt, then validates and repairs the answer"


class RemoteEndpoint(models.Model):
    """An inference engine outside the platform that speaks OpenAI's API (vLLM, SGLang, TGI, Ollama, a
    llama.cpp server, a hosted API). Only admins register one. Its API key is kept encrypted
    (models_layer.registry.crypto) and is never shown back."""

    name = models.SlugField(max_length=100, unique=True)
    # Not a URLField: its validator wants a dotted host, and engines are reached by service names
    # (http://vllm:8000/v1); services.remote_base_url_clean checks the URL instead.
    base_url = models.CharField(max_length=500, help_text="Where its OpenAI API lives, e.g. http://vllm:8000/v1.")
    api_key_encrypted = models.TextField(blank=True, editable=False, help_text="Fernet token; empty for none.")
    timeout_seconds = models.FloatField(
        default=60.0,
        validators=[MinValueValidator(1.0), MaxValueValidator(3600.0)],
        help_text="How long to wait for its answer (and between two streamed pieces) before a try counts as failed.",
    )
    max_concurrency = models.PositiveIntegerField(
        default=16,
        validators=[MinValueValidator(1), MaxValueValidator(4096)],
        help_text="Requests it is sent at once, across all workers; more wait for a free place.",
    )
    structured_output = models.CharField(
        max_length=16, choices=StructuredOutput.choices, default=StructuredOutput.JSON_SCHEMA
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)


class Stage(models.TextChoices):
    DRAFT = "draft"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


class GeneratorVersion(models.Model):
    generator = models.ForeignKey(Generator, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    artifact = models.ForeignKey(
        "storage.File",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The weights; empty for a remote version.",
    )
    remote_endpoint = models.ForeignKey(
        RemoteEndpoint,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="versions",
        help_text="The engine that serves a remote version.",
    )
    remote_model = models.CharField(max_length=200, blank=True, help_text="The model name the remote engine knows.")
    format = models.CharField(max_length=16, choices=VersionFormat.choices)
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Backend options and default sampling parameters."
    )
    metrics = models.JSONField(default=dict, blank=True, help_text="Evaluation metrics, e.g. from its training job.")
    model_card = models.TextField(blank=True, help_text="Markdown.")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.DRAFT, db_index=True)

    validated_at = models.DateTimeField(
        null=True, blank=True, help_text="When its validation job proved it loads and generates."
    )
    validation_error = models.TextField(blank=True)
    validation_job = models.ForeignKey(
        "compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Lineage. The dataset version lives in the tools layer above, so it is referenced by id, not by key.
    base_version = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="derived_versions"
    )
    training_job = models.ForeignKey("compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    dataset_version_ref = models.CharField(
        max_length=64, blank=True, help_text="Id of the dataset version it was trained on."
    )
    replaced_version = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The production version this one replaced when promoted; what a rollback returns to.",
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True, help_text="When it last reached production.")
    # A comparison lives in the tools layer above: the promotion keeps what it cited as data (its id,
    # link and figures at that moment), resolved by the citation source the tools layer registers.
    promotion_citation = models.JSONField(
        default=dict,
        blank=True,
        help_text="The blind comparison its last promotion cited: {comparison, name, url, stage, ratings: "
        "[{generator, version, rating, low, high, judgements}], judgements, cited_at}; empty when none.",
    )

    class Meta:
        ordering = ["generator", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["generator", "number"], name="generator_version_number_unique"),
            models.UniqueConstraint(
                fields=["generator"], condition=models.Q(stage="production"), name="generator_one_production_version"
            ),
            models.CheckConstraint(
                condition=(models.Q(artifact__isnull=False) & models.Q(remote_endpoint__isnull=True))
                | (
                    models.Q(artifact__isnull=True)
                    & models.Q(remote_endpoint__isnull=False)
                    & ~models.Q(remote_model="")
                ),
                name="generator_version_weights_or_remote",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.generator.slug} v{self.number} ({self.stage})"

    @property
    def is_validated(self) -> bool:
        return self.validated_at is not None

    @property
    def is_remote(self) -> bool:
        return self.remote_endpoint_id is not None
