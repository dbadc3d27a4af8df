"""Datasets, their items (bytes in object storage) and immutable versions (frozen manifests)."""

import uuid

from django.conf import settings
from django.db import models


class DatasetKind(models.TextChoices):
    TEXT = "text"
    IMAGE = "image"
    PREFERENCE = "preference"


class Split(models.TextChoices):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


class Dataset(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=DatasetKind.choices)
    description = models.TextField(blank=True)
    source = models.CharField(
        max_length=1000, blank=True, help_text="Where the data came from: a URL or a description."
    )
    licence = models.CharField(
        max_length=100,
        blank=True,
        help_text='An SPDX identifier (CC-BY-4.0, CC-BY-ND-4.0, …), or "custom" with the text in licence_text.',
    )
    licence_text = models.TextField(blank=True, help_text="A custom licence's terms.")
    has_personal_data = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="dataset_unique_name_per_owner")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class DatasetItem(models.Model):
    """One example. Its bytes are `length` bytes at `offset` in the storage object `blob`: a shard
    shared by many text items, or the image's own object. `sha256` is of those bytes."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="items")
    sha256 = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True)
    preview = models.TextField(
        blank=True, help_text="The start of the text (or the image's file name), for browsing and search."
    )
    blob = models.ForeignKey("storage.File", on_delete=models.PROTECT, related_name="+")
    offset = models.BigIntegerField(default=0)
    length = models.BigIntegerField()
    content_type = models.CharField(max_length=100)
    meta = models.JSONField(default=dict, blank=True)
    import_job_id = models.UUIDField(null=True, blank=True, db_index=True)
    # Made by a preparation step (a redacted copy, an augmentation) rather than imported: it belongs to
    # the versions that step wrote, not to the dataset's imported items that a new version freezes.
    derived = models.BooleanField(default=False)
    augmented = models.BooleanField(default=False)
    pii_scanned = models.BooleanField(default=False, help_text="Its content went through the PII scan.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["dataset", "id"]),
            models.Index(fields=["dataset", "label"]),
            models.Index(fields=["dataset", "sha256"]),
        ]

    def __str__(self) -> str:
        return f"item {self.pk} of {self.dataset_id}"


class DatasetVersion(models.Model):
    """An immutable snapshot: which items (by id and sha256) and which split each is in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    note = models.CharField(max_length=500, blank=True)
    seed = models.BigIntegerField(default=0)
    validation_fraction = models.FloatField(default=0.1)
    item_count = models.PositiveIntegerField(default=0)
    train_count = models.PositiveIntegerField(default=0)
    validation_count = models.PositiveIntegerField(default=0)
    test_fraction = models.FloatField(default=0.0)
    test_count = models.PositiveIntegerField(default=0)
    stratified = models.BooleanField(default=False)
    augmented_count = models.PositiveIntegerField(default=0)
    pii_scanned = models.BooleanField(default=False, help_text="Every item of the version went through the PII scan.")
    # Lineage: the version a preparation step read, the step and its parameters, and what it did.
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")
    step = models.CharField(
        max_length=32, blank=True, help_text="The preparation step that wrote it; empty for a freeze."
    )
    parameters = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)
    job_id = models.UUIDField(null=True, blank=True, db_index=True)
    label_counts = models.JSONField(default=dict, blank=True)
    manifest = models.ForeignKey(
        "storage.File",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="JSON Lines {item, sha256, split, augmented}, one per item, by item id.",
    )
    manifest_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_unique_number"),
            # A redelivered preparation job finds the version its first run wrote instead of writing another.
            models.UniqueConstraint(fields=["job_id", "step", "parent"], name="dataset_version_unique_job_step"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset.name} v{self.number}"


class VersionItem(models.Model):
    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="entries")
    # RESTRICT: an item in a version cannot be deleted alone, only with its whole dataset.
    item = models.ForeignKey(DatasetItem, on_delete=models.RESTRICT, related_name="+")
    split = models.CharField(max_length=16, choices=Split.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "item"], name="version_item_unique")]
        indexes = [models.Index(fields=["version", "split", "item"])]
