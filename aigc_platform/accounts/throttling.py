"""Rate limits per user, per API key and per client address, counted in the shared cache (Redis),
so every web process sees the same counts. Rates come from settings.AIGC_RATE_LIMITS at call time.

Counting is a sliding window over two fixed ones: a counter per window of the rate's duration, and
the previous window's count weighted by how much of it the sliding window still covers. That is one
Redis round trip of three O(1) commands a check. DRF's own throttle keeps every request's time in a
list it reads, unpickles, rewrites and stores whole (two round trips, and 600 timestamps a request at
600/minute), which cost more than a small API view (bench/api.py)."""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from aigc_platform.accounts.selectors import request_api_key_prefix
from aigc_platform.core.clients import client_address

logger = logging.getLogger(__name__)


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return settings.AIGC_RATE_LIMITS.get(self.scope)

    def get_ident(self, request) -> str:
        """The client's address, X-Forwarded-For believed only from trusted proxies (DRF's own reads it
        from anyone while NUM_PROXIES is unset)."""
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        # Rate limits protect the service; with the cache unreachable they let requests through
        # rather than turn every request into an error (health reports the broker as down).
        try:
            return self._count() <= self.num_requests
        except RedisError as error:
            logger.warning("Rate limit %s not checked: %s", self.scope, error)
            return True

    def _count(self) -> float:
        """Count this request and return the requests of the sliding window that ends now."""
        now = time.time()
        window, into = divmod(now, self.duration)
        self._covered = 1.0 - into / self.duration  # the share of the previous window still in the sliding one
        current, previous = (cache.make_key(f"{self.key}:{int(window) - back}") for back in (0, 1))
        pipe = cache._cache.get_client(write=True).pipeline(transaction=False)
        pipe.incr(current)
        pipe.expire(current, int(2 * self.duration) + 1)
        pipe.get(previous)
        self._current, _, earlier = pipe.execute()
        self._previous = int(earlier or 0)
        return self._previous * self._covered + self._current

    def wait(self) -> float | None:
        """Seconds until a request would be let through again (the Retry-After of a 429)."""
        over = self._previous * self._covered + self._current - self.num_requests + 1
        if self._previous and self._previous * self._covered >= over:
            return over / self._previous * self.duration  # until enough of the previous window slid out
        # after this window, while this window's count slides out in turn
        later = (
            (self._current - self.num_requests + 1) / self._current if self._current > self.num_requests - 1 else 0.0
        )
        return (self._covered + later) * self.duration


class UserRateThrottle(_SettingsRateThrottle):
    """Requests per minute of one user, whatever credential they use."""

    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiKeyRateThrottle(_SettingsRateThrottle):
    """Requests per minute of one API key, so one key cannot use up its user's whole allowance."""

    scope = "api_key"

    def get_cache_key(self, request, view) -> str | None:
        prefix = request_api_key_prefix(request)
        return self.cache_format % {"scope": self.scope, "ident": prefix} if prefix else None


class AnonRateThrottle(_SettingsRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignInRateThrottle(_SettingsRateThrottle):
    """Sign-in attempts per client address: slows password guessing (applied to every way in by
    accounts.backends through `sign_in_check`)."""

    scope = "sign_in"

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
