"""The File row: one per stored upload; its object is content-addressed, so equal bytes share one object."""

import uuid

from django.conf import settings
from django.db import models


class File(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="files",
        help_text="Empty for a system object (such as a built-in model's weights), which counts against no quota.",
    )
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(max_length=255, help_text="Sniffed from the bytes, not taken from the client.")
    key = models.CharField(max_length=255, db_index=True, help_text="The object's key in the storage backend.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="file_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.size} bytes, {self.sha256[:12]})"
