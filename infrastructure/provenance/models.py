"""One provenance record per generated artifact.

The generator is kept by value (slug, version number, the version's row id) rather than by a foreign
key: the record sits in the infrastructure layer, below the registry, so that every producer (the
runtime, the registry, the applications) can write it; and a record must outlive a deleted version.

The id is a random UUID, not a counter: it travels inside exported files and image metadata, far from
the platform, and a counter would tell whoever holds one file how many artifacts were made and let
them walk the ids. It is also minted before the artifact is written, so the file carries it."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# IPTC's digital source type for content made by a model trained on sampled content.
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


class ArtifactKind(models.TextChoices):
    TEXT = "text", _("Generated text")
    IMAGE = "image", _("Generated image")
    MARKETING_VARIANT = "marketing_variant", _("Marketing copy variant")
    LESSON = "lesson", _("Courseware lesson")
    EXPORT = "export", _("Export")


class ProvenanceRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=ArtifactKind.choices)
    artifact_ref = models.CharField(
        max_length=200, help_text='What the record is about, as its producer names it: "job:…", "file:…", "lesson:…".'
    )
    artifact_url = models.CharField(max_length=300, blank=True, help_text="Where the artifact is read (a path).")
    media_type = models.CharField(max_length=120, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the artifact when written.")
    generator_slug = models.CharField(max_length=100, blank=True)
    generator_version = models.PositiveIntegerField(null=True, blank=True, help_text="The version's number.")
    generator_version_pk = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The registry's GeneratorVersion id (kept by value)."
    )
    request_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the request's canonical JSON.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="provenance_records"
    )
    job = models.ForeignKey("compute.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="derived",
        help_text="The record this artifact was made from (an export's lesson or copy).",
    )
    detail = models.JSONField(default=dict, blank=True)
    key = models.CharField(
        max_length=300,
        unique=True,
        help_text="The producer's idempotency key: a task run twice finds its record instead of adding one.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["artifact_ref", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.artifact_ref} by {self.generator_label or '?'}"

    @property
    def generator_label(self) -> str:
        if not self.generator_slug:
            return ""
        return f"{self.generator_slug} v{self.generator_version}" if self.generator_version else self.generator_slug
