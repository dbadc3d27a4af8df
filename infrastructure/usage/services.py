"""Writes for usage: count generation requests and tokens, and refuse requests over the day's quota.

A job that generates tokens reserves its most at submit (`usage_tokens_reserve`, in the transaction
that creates the job), and what it generates is counted as it goes (`usage_tokens_record`). The quota
check counts both: the tokens generated today and those still reserved by queued and running jobs
(selectors.tokens_held_today). Reservations of one user are made one at a time (their day's row is
locked), so requests sent at once cannot all pass on the same reading. A reservation is settled when
its job ends: it holds nothing more, and what the job generated stays counted. A retried job reserves
again (`usage_reservation_renew`), so cancel and retry cannot step around the check."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from aigc_platform.core.errors import ApplicationError
from infrastructure.usage import selectors
from infrastructure.usage.models import DailyUsage, TokenReservation

logger = logging.getLogger(__name__)


class QuotaExceeded(ApplicationError):
    status_code = 429
    code = "quota_exceeded"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


def _row(*, user_id: int, api_key_prefix: str | None):
    return DailyUsage.objects.get_or_create(
        day=selectors.usage_today(), user_id=user_id, api_key_prefix=api_key_prefix or ""
    )[0]


def _refuse(*, used: int, held: int, limit: int, whose: str, setting: str) -> None:
    resets_at = selectors.quota_resets_at()
    seconds = max(1, int((resets_at - timezone.now()).total_seconds()))
    hours, minutes = divmod(seconds // 60, 60)
    reserved = (
        gettext(" and %(held)s more are reserved by jobs still queued or running") % {"held": format(held, ",")}
        if held
        else ""
    )
    raise QuotaExceeded(
        gettext(
            "%(whose)s generated %(used)s tokens today%(reserved)s, the daily quota of %(limit)s (%(setting)s). The quota resets at %(value)s (in %(hours)s h %(minutes)s min)."
        )
        % {
            "whose": whose,
            "used": format(used, ","),
            "reserved": reserved,
            "limit": format(limit, ","),
            "setting": setting,
            "value": resets_at.isoformat(),
            "hours": hours,
            "minutes": minutes,
        },
        retry_after=seconds,
    )


def usage_quota_check(*, user, api_key_prefix: str | None = None) -> None:
    """Raise QuotaExceeded (429) when the user, or the API key the request came with, has generated
    or reserved its daily quota of tokens. A request is accepted while the count is under the quota,
    so the one that crosses it still finishes."""
    user_limit = settings.AIGC_QUOTA_TOKENS_PER_DAY
    if user_limit:
        used, held = selectors.tokens_used_today(user=user), selectors.tokens_held_today(user=user)
        if used + held >= user_limit:
            _refuse(
                used=used, held=held, limit=user_limit, whose=gettext("You have"), setting="AIGC_QUOTA_TOKENS_PER_DAY"
            )
    key_limit = settings.AIGC_QUOTA_TOKENS_PER_DAY_API_KEY
    if key_limit and api_key_prefix:
        used = selectors.tokens_used_today(user=user, api_key_prefix=api_key_prefix)
        held = selectors.tokens_held_today(user=user, api_key_prefix=api_key_prefix)
        if used + held >= key_limit:
            _refuse(
                used=used,
                held=held,
                limit=key_limit,
                whose=gettext("The API key %(prefix)s… has") % {"prefix": api_key_prefix},
                setting="AIGC_QUOTA_TOKENS_PER_DAY_API_KEY",
            )


def _lock_users_day(*, user_id: int) -> None:
    """Hold the user's row of today (their token, not a key's) until the caller's transaction ends: the
    reservations of one user are checked and made one at a time."""
    row = _row(user_id=user_id, api_key_prefix=None)
    DailyUsage.objects.select_for_update().filter(pk=row.pk).first()


@transaction.atomic
def usage_tokens_reserve(*, user, job_id, tokens: int, api_key_prefix: str | None = None) -> TokenReservation:
    """Set up to `tokens` aside for the job `job_id`, or raise QuotaExceeded (429) when the user's (or
    the API key's) quota is generated or reserved already. Call it in the transaction that creates the
    job, so that a refused request leaves no job behind."""
    _lock_users_day(user_id=user.pk)
    usage_quota_check(user=user, api_key_prefix=api_key_prefix)
    return TokenReservation.objects.create(
        day=selectors.usage_today(),
        user=user,
        api_key_prefix=api_key_prefix or "",
        job_id=job_id,
        tokens=max(0, int(tokens)),
    )


@transaction.atomic
def usage_reservation_renew(*, job_id) -> None:
    """A failed or cancelled job is about to run again: check the quota as a new request would be, and
    reserve its tokens again (today, none used yet). Jobs without a reservation need nothing."""
    reservation = TokenReservation.objects.select_related("user").filter(job_id=job_id).first()
    if reservation is None:
        return
    _lock_users_day(user_id=reservation.user_id)
    usage_quota_check(user=reservation.user, api_key_prefix=reservation.api_key_prefix or None)
    TokenReservation.objects.filter(pk=reservation.pk).update(day=selectors.usage_today(), used=0)
    row = _row(user_id=reservation.user_id, api_key_prefix=reservation.api_key_prefix or None)
    DailyUsage.objects.filter(pk=row.pk).update(requests=F("requests") + 1)


@transaction.atomic
def usage_request_record(*, user, api_key_prefix: str | None = None) -> None:
    """Check the quota and count one accepted generation request."""
    usage_quota_check(user=user, api_key_prefix=api_key_prefix)
    row = _row(user_id=user.pk, api_key_prefix=api_key_prefix)
    DailyUsage.objects.filter(pk=row.pk).update(requests=F("requests") + 1)


def usage_tokens_record(*, user_id: int, tokens: int, api_key_prefix: str | None = None, job_id=None) -> None:
    """Add generated tokens to today's counters (called where a generation finishes, in the worker),
    and to what the job `job_id` used of its reservation."""
    if tokens <= 0:
        return
    with transaction.atomic():
        row = _row(user_id=user_id, api_key_prefix=api_key_prefix)
        DailyUsage.objects.filter(pk=row.pk).update(tokens=F("tokens") + tokens)
        if job_id is not None:
            TokenReservation.objects.filter(job_id=job_id).update(used=F("used") + tokens)
    logger.debug("Counted %s tokens for user %s (key %s)", tokens, user_id, api_key_prefix or "-")
