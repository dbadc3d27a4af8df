"""Writes for accounts: users with roles, the API key lifecycle, and the sign-in limits."""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from redis.exceptions import RedisError

from aigc_platform.accounts.models import ApiKey, ApiKeyScope, SignInLockout
from aigc_platform.accounts.roles import ADMIN, ROLES, role_groups
from aigc_platform.audit.services import audit_record
from aigc_platform.core.clients import client_address
from aigc_platform.core.errors import ApplicationError, Conflict

logger = logging.getLogger(__name__)

KEY_PREFIX = "aigc"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def user_create(*, username: str, password: str, role: str, email: str = "", validate: bool = True):
    if role not in ROLES:
        raise ApplicationError(
            gettext("Unknown role %(role)r; choose one of %(names)s.") % {"role": role, "names": ", ".join(ROLES)},
            fields={"role": [gettext("Unknown role.")]},
        )
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise Conflict(gettext("A user named %(username)r exists already.") % {"username": username})
    user = User(username=username, email=email, is_staff=role == ADMIN, is_superuser=role == ADMIN)
    if validate:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ApplicationError(
                gettext("The password is too weak."), fields={"password": list(error.messages)}
            ) from None
    user.set_password(password)
    user.save()
    user.groups.add(role_groups()[role])
    return user


@transaction.atomic
def admin_ensure(*, password: str) -> tuple[object, bool]:
    """The `admin` account of `aigc up`: created once; its password is never reset behind a person's back."""
    User = get_user_model()
    user = User.objects.filter(username="admin").first()
    if user is not None:
        return user, False
    return user_create(username="admin", password=password, role=ADMIN, validate=False), True


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str


@transaction.atomic
def api_key_create(
    *, owner, name: str, scopes: list[str] | None = None, expires_at: datetime | None = None
) -> IssuedKey:
    """A new key for `owner`, with `scopes` (read and generate unless given) and an optional expiry."""
    scopes = sorted(set(scopes if scopes is not None else [ApiKeyScope.READ, ApiKeyScope.GENERATE]))
    if not scopes or not set(scopes) <= set(ApiKeyScope.values):
        raise ApplicationError(
            gettext("Give the key at least one scope."),
            fields={"scopes": [gettext("Some of %(names)s.") % {"names": ", ".join(ApiKeyScope.values)}]},
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError(
            gettext("A key's expiry must lie in the future."), fields={"expires_at": [gettext("A time in the future.")]}
        )
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        owner=owner, name=name, prefix=prefix, key_hash=hash_key(raw_key), scopes=scopes, expires_at=expires_at
    )
    audit_record(
        action="api_key_created",
        actor=owner,
        target=api_key,
        detail={
            "name": name,
            "prefix": prefix,
            "scopes": scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey, actor) -> ApiKey:
    if ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        audit_record(action="api_key_revoked", actor=actor, target=api_key, detail={"prefix": api_key.prefix})
    api_key.refresh_from_db()
    return api_key


def user_language_set(*, user, language: str) -> str:
    """Remember the interface language `user` chose (one of settings.LANGUAGES; empty: the browser's)."""
    from django.conf import settings

    from aigc_platform.accounts.models import Preference

    if language and language not in dict(settings.LANGUAGES):
        raise ApplicationError(
            gettext("Unknown language %(language)r.") % {"language": language},
            fields={"language": [", ".join(dict(settings.LANGUAGES))]},
        )
    Preference.objects.update_or_create(user=user, defaults={"language": language})
    return language


# Sign-in limits: every way in calls `authenticate`, whose backend (backends.py) calls `sign_in_check`
# before a password is compared; a failure is counted by `sign_in_failure_record`.


class SignInRefused(ApplicationError):
    status_code = 429

    def __init__(self, message: str, *, code: str, retry_after: float):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after + 0.999))
        self.headers = {"Retry-After": str(self.retry_after)}


def _active_lockout(scope: str, key: str) -> SignInLockout | None:
    return (
        SignInLockout.objects.filter(scope=scope, key=key, cleared_at__isnull=True, locked_until__gt=timezone.now())
        .order_by("-locked_until")
        .first()
    )


def sign_in_check(*, request, username: str) -> None:
    """Refuse (SignInRefused, a 429) a sign-in from a client over its rate, or for an account or from a
    client that is locked out; before the password is looked at, so a locked account stays locked
    even to the right password."""
    from aigc_platform.accounts.throttling import SignInRateThrottle

    address = client_address(request) if request is not None else ""
    if address:
        throttle = SignInRateThrottle()
        if not throttle.allow_request(request, None):
            wait = throttle.wait() or 60
            raise SignInRefused(
                gettext("Too many sign-in attempts; try again in %(value)s seconds.") % {"value": int(wait) + 1},
                code="rate_limited",
                retry_after=wait,
            )
    for scope, key, whose in (
        (SignInLockout.Scope.ACCOUNT, username, gettext("this account")),
        (SignInLockout.Scope.CLIENT, address, gettext("this address")),
    ):
        lockout = _active_lockout(scope, key) if key else None
        if lockout is not None:
            wait = (lockout.locked_until - timezone.now()).total_seconds()
            raise SignInRefused(
                gettext(
                    "Too many sign-in attempts: sign-in is locked for %(whose)s for %(value)s more minutes, or until an admin clears the lockout."
                )
                % {"whose": whose, "value": int(wait // 60) + 1},
                code="sign_in_locked",
                retry_after=wait,
            )


def _failures_counted(scope: str, key: str) -> int:
    counter = f"sign-in-failures:{scope}:{hashlib.sha256(key.encode()).hexdigest()}"
    cache.add(counter, 0, timeout=settings.AIGC_SIGN_IN_WINDOW_SECONDS)
    try:
        return cache.incr(counter)
    except ValueError:  # expired between the two calls
        cache.add(counter, 1, timeout=settings.AIGC_SIGN_IN_WINDOW_SECONDS)
        return 1


def _failures_forget(scope: str, key: str) -> None:
    cache.delete(f"sign-in-failures:{scope}:{hashlib.sha256(key.encode()).hexdigest()}")


def sign_in_failure_record(*, request, username: str) -> list[SignInLockout]:
    """Count a failed sign-in for its account and its client; lock either out (audited) once its
    failures within AIGC_SIGN_IN_WINDOW_SECONDS reach the setting's threshold. Returns new lockouts."""
    address = client_address(request) if request is not None else ""
    locked = []
    for scope, key, threshold in (
        (SignInLockout.Scope.ACCOUNT, username[:150], settings.AIGC_SIGN_IN_ACCOUNT_FAILURES),
        (SignInLockout.Scope.CLIENT, address, settings.AIGC_SIGN_IN_CLIENT_FAILURES),
    ):
        if not key or not threshold:
            continue
        try:
            failures = _failures_counted(scope, key)
        except RedisError as error:
            logger.warning("Failed sign-in for %s %s not counted: %s", scope, key, error)
            continue
        if failures < threshold or _active_lockout(scope, key) is not None:
            continue
        lockout = SignInLockout.objects.create(
            scope=scope,
            key=key,
            failures=failures,
            locked_until=timezone.now() + timedelta(seconds=settings.AIGC_SIGN_IN_LOCKOUT_SECONDS),
        )
        _failures_forget(scope, key)
        audit_record(
            action="sign_in_locked",
            actor_name=username[:150],
            target=lockout,
            request=request,
            detail={"scope": scope, "key": key, "failures": failures, "until": lockout.locked_until.isoformat()},
        )
        logger.warning("Sign-in locked for %s %s after %s failures.", scope, key, failures)
        locked.append(lockout)
    return locked


def sign_in_lockout_clear(*, lockout: SignInLockout, actor) -> SignInLockout:
    """An admin lets an account or a client sign in again at once (and forgets its counted failures)."""
    if SignInLockout.objects.filter(pk=lockout.pk, cleared_at__isnull=True).update(
        cleared_at=timezone.now(), cleared_by=actor
    ):
        _failures_forget(lockout.scope, lockout.key)
        audit_record(
            action="sign_in_unlocked", actor=actor, target=lockout, detail={"scope": lockout.scope, "key": lockout.key}
        )
    lockout.refresh_from_db()
    return lockout


def sign_in_lockouts_clear(*, key: str, actor=None) -> int:
    """Clear every active lockout of an account (by username) or a client (by address); how many were."""
    active = SignInLockout.objects.filter(key=key, cleared_at__isnull=True, locked_until__gt=timezone.now())
    cleared = [sign_in_lockout_clear(lockout=lockout, actor=actor) for lockout in active]
    for scope in SignInLockout.Scope.values:
        _failures_forget(scope, key)
    return len(cleared)
