"""Reads for accounts."""

import hmac

from django.utils import timezone

from aigc_platform.accounts.models import ApiKey
from aigc_platform.accounts.services import KEY_PREFIX, hash_key


def api_key_get(*, raw_key: str) -> ApiKey | None:
    """The unrevoked key a raw key is, with its owner, expired or not; None for anything else."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    api_key = ApiKey.objects.select_related("owner").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_key(raw_key)) or not api_key.owner.is_active:
        return None
    return api_key


def api_key_user(*, raw_key: str):
    """The active user a raw key belongs to, or None. Revoked and expired keys fail at once."""
    api_key = api_key_get(raw_key=raw_key)
    if api_key is None or api_key.is_expired:
        return None
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    return api_key.owner


def request_api_key_prefix(request) -> str | None:
    """The public prefix of the API key a DRF request authenticated with, or None (token, session)."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, str) and auth.startswith(f"{KEY_PREFIX}_"):
        return auth.split("_", 2)[1]
    return None


def api_keys_of(*, user):
    return ApiKey.objects.filter(owner=user)
