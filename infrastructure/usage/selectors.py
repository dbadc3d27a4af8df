"""Reads for usage: today's counts and quota, per user and per API key, and the tokens that jobs still
queued or running hold reserved."""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import F, Sum, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from infrastructure.compute.models import Job, JobStatus
from infrastructure.storage.selectors import storage_usage
from infrastructure.usage.models import DailyUsage, TokenReservation


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


def tokens_held_today(*, user, api_key_prefix: str | None = None) -> int:
    """Tokens reserved today (TokenReservation) by `user`'s jobs that are still queued or running, less
    what those jobs generated already (that is in tokens_used_today); one API key's when it is given.
    A reservation of an ended job holds nothing: it was settled when its job ended."""
    open_jobs = Job.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).values("pk")
    rows = TokenReservation.objects.filter(day=usage_today(), user=user, job_id__in=open_jobs)
    if api_key_prefix is not None:
        rows = rows.filter(api_key_prefix=api_key_prefix)
    return rows.aggregate(held=Sum(Greatest(F("tokens") - F("used"), Value(0))))["held"] or 0


def usage_summary(*, user, api_key_prefix: str | None = None) -> dict:
    """What a user has used today against their quotas, and their storage."""
    today = DailyUsage.objects.filter(day=usage_today(), user=user).aggregate(
        requests=Sum("requests"), tokens=Sum("tokens")
    )
    summary = {
        "day": usage_today(),
        "requests": today["requests"] or 0,
        "tokens": today["tokens"] or 0,
        "tokens_limit": settings.AIGC_QUOTA_TOKENS_PER_DAY,
        "tokens_reserved": tokens_held_today(user=user),
        "resets_at": quota_resets_at(),
        "api_key": None,
        "storage": storage_usage(user=user),
    }
    if api_key_prefix is not None:
        summary["api_key"] = {
            "prefix": api_key_prefix,
            "tokens": tokens_used_today(user=user, api_key_prefix=api_key_prefix),
            "tokens_reserved": tokens_held_today(user=user, api_key_prefix=api_key_prefix),
            "tokens_limit": settings.AIGC_QUOTA_TOKENS_PER_DAY_API_KEY,
        }
    return summary
