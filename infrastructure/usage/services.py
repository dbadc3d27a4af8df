"""Writes for usage: count generation requests and tokens, and refuse requests over the day's quota."""
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from aigc_platform.core.errors import ApplicationError
from infrastructure.usage import selectors
from infrastructure.usage.models import DailyUsage

logger = logging.getLogger(__name__)


class QuotaExceeded(ApplicationError):
    status_code = 429
    code = "quota_exceeded"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


def _row(*, user_id: int, api_key_prefix: str | None):
    return DailyUsage.objects.get_or_create(day=selectors.usage_today(), user_id=user_id, api_key_prefix=api_key_prefix or "")[0]


def _refuse(*, used: int, limit: int, whose: str, setting: str) -> None:
    resets_at = selectors.quota_resets_at()
    seconds = max(1, int((resets_at - timezone.now()).total_seconds()))
    hours, minutes = divmod(seconds // 60, 60)
    raise QuotaExceeded(
        f"{whose} generated {used:,} tokens today, the daily quota of {limit:,} ({setting}). "
        f"The quota resets at {resets_at.isoformat()} (in {hours} h {minutes} min).",
        retry_after=seconds,
    )


def usage_quota_check(*, user, api_key_prefix: str | None = None) -> None:
    """Raise QuotaExceeded (429) when the user, or the API key the request came with, has generated
    its daily quota of tokens. A request is accepted while the count is under the quota, so the one
    that crosses it still finishes."""
    user_limit = settings.AIGC_QUOTA_TOKENS_PER_DAY
    if user_limit:
        used = selectors.tokens_used_today(user=user)
        if used >= user_limit:
            _refuse(used=used, limit=user_limit, whose="You have", setting="AIGC_QUOTA_TOKENS_PER_DAY")
    key_limit = settings.AIGC_QUOTA_TOKENS_PER_DAY_API_KEY
    if key_limit and api_key_prefix:
        used = selectors.tokens_used_today(user=user, api_key_prefix=api_key_prefix)
        if used >= key_limit:
            _refuse(used=used, limit=key_limit, whose=f"The API key {api_key_prefix}… has",
                    setting="AIGC_QUOTA_TOKENS_PER_DAY_API_KEY")


@transaction.atomic
def usage_request_record(*, user, api_key_prefix: str | None = None) -> None:
    """Check the quota and count one accepted generation request."""
    usage_quota_check(user=user, api_key_prefix=api_key_prefix)
    row = _row(user_id=user.pk, api_key_prefix=api_key_prefix)
    DailyUsage.objects.filter(pk=row.pk).update(requests=F("requests") + 1)


def usage_tokens_record(*, user_id: int, tokens: int, api_key_prefix: str | None = None) -> None:
    """Add generated tokens to today's counters (called where a generation finishes, in the worker)."""
    if tokens <= 0:
        return
    with transaction.atomic():
        row = _row(user_id=user_id, api_key_prefix=api_key_prefix)
        DailyUsage.objects.filter(pk=row.pk).update(tokens=F("tokens") + tokens)
    logger.debug("Counted %s tokens for user %s (key %s)", tokens, user_id, api_key_prefix or "-")
