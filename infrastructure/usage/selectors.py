"""Reads for usage: today's counts and quota, per user and per API key."""
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from infrastructure.storage.selectors import storage_usage
from infrastructure.usage.models import DailyUsage


def usage_today() -> "datetime.date":
    return timezone.localdate()


def quota_resets_at() -> datetime:
    """When today's counters stop counting: the next midnight in settings.TIME_ZONE (UTC by default)."""
    tomorrow = usage_today() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, time.min))


def tokens_used_today(*, user, api_key_prefix: str | None = None) -> int:
    """Tokens generated today by `user` (with any credential), or with one API key when it is given."""
    rows = DailyUsage.objects.filter(day=usage_today(), user=user)
    if api_key_prefix is not None:
        rows = rows.filter(api_key_prefix=api_key_prefix)
    return rows.aggregate(total=Sum("tokens"))["total"] or 0


def usage_summary(*, user, api_key_prefix: str | None = None) -> dict:
    """What a user has used today against their quotas, and their storage."""
    today = DailyUsage.objects.filter(day=usage_today(), user=user).aggregate(requests=Sum("requests"), tokens=Sum("tokens"))
    summary = {
        "day": usage_today(),
        "requests": today["requests"] or 0,
        "tokens": today["tokens"] or 0,
        "tokens_limit": settings.AIGC_QUOTA_TOKENS_PER_DAY,
        "resets_at": quota_resets_at(),
        "api_key": None,
        "storage": storage_usage(user=user),
    }
    if api_key_prefix is not None:
        summary["api_key"] = {
            "prefix": api_key_prefix,
            "tokens": tokens_used_today(user=user, api_key_prefix=api_key_prefix),
            "tokens_limit": settings.AIGC_QUOTA_TOKENS_PER_DAY_API_KEY,
        }
    return summary
