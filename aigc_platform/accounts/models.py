"""API keys (shown once at creation, stored as a SHA-256 hash, scoped, revocable, optionally expiring),
and sign-in lockouts."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiKeyScope(models.TextChoices):
    READ = "read", "read: GET anything its owner may see"
    GENERATE = "generate", "generate: submit, change and cancel work"
    ADMIN = "admin", "admin: manage API keys and tokens (and everything else)"


def default_api_key_scopes() -> list[str]:
    return [ApiKeyScope.READ, ApiKeyScope.GENERATE]


class ApiKey(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the key, used to find it.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole key; the key itself is never stored.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=default_api_key_scopes, help_text="What the key may do: read, generate, admin.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: it never expires.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or ApiKeyScope.ADMIN in self.scopes


class SignInLockout(models.Model):
    """Sign-ins refused for an account or a client address after too many failures, until `locked_until`
    or until an admin clears it (admin action, or `aigc unlock-sign-in`)."""

    class Scope(models.TextChoices):
        ACCOUNT = "account"
        CLIENT = "client"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    key = models.CharField(max_length=150, help_text="The username, or the client's address.")
    failures = models.PositiveIntegerField(help_text="Failed sign-ins that led to it.")
    created_at = models.DateTimeField(auto_now_add=True)
    locked_until = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["scope", "key", "locked_until"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} until {self.locked_until:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None and self.locked_until > timezone.now()


class Preference(models.Model):
    """A person's settings for the pages: the interface language they chose in the header."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(max_length=16, blank=True, help_text="Empty: follow the browser's Accept-Language.")
