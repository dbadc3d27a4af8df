"""Counters of generation use, one row per user, API key and day (UTC)."""

from django.conf import settings
from django.db import models


class DailyUsage(models.Model):
    day = models.DateField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_usage")
    api_key_prefix = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="The API key the requests came with; empty for a token or a browser session.",
    )
    requests = models.PositiveBigIntegerField(default=0, help_text="Generation requests accepted.")
    tokens = models.PositiveBigIntegerField(default=0, help_text="Tokens generated (completion tokens).")

    class Meta:
        ordering = ["-day", "user_id", "api_key_prefix"]
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
        constraints = [models.UniqueConstraint(fields=["day", "user", "api_key_prefix"], name="usage_one_row_per_day")]

    def __str__(self) -> str:
        key = f" key {self.api_key_prefix}" if self.api_key_prefix else ""
        return f"{self.day} user {self.user_id}{key}: {self.requests} requests, {self.tokens} tokens"


class TokenReservation(models.Model):
    """Tokens set aside at submit for one job, so that jobs queued or running at once cannot together
    pass the day's quota. While its job is queued or running, a reservation holds what it has not yet
    used (`tokens - used`); once the job ends it holds nothing (settled: what the job generated is in
    DailyUsage.tokens). A retried job reserves again (usage_reservation_renew)."""

    day = models.DateField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="token_reservations")
    api_key_prefix = models.CharField(max_length=16, blank=True, default="")
    job_id = models.UUIDField(unique=True, help_text="The job (infrastructure.compute) the tokens are set aside for.")
    tokens = models.PositiveBigIntegerField(help_text="The most tokens the job may generate.")
    used = models.PositiveBigIntegerField(default=0, help_text="Tokens the job generated so far (this attempt).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "day"])]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_id}: {self.used} of {self.tokens} tokens for job {self.job_id}"
