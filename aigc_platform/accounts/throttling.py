"""Rate limits per user, per API key and per client address, counted in the shared cache (Redis),
so every web process sees the same counts. Rates come from settings.AIGC_RATE_LIMITS at call time."""
import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from aigc_platform.accounts.selectors import request_api_key_prefix

logger = logging.getLogger(__name__)


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return settings.AIGC_RATE_LIMITS.get(self.scope)

    def allow_request(self, request, view) -> bool:
        # Rate limits protect the service; with the cache unreachable they let requests through
        # rather than turn every request into an error (health reports the broker as down).
        try:
            return super().allow_request(request, view)
        except RedisError as error:
            logger.warning("Rate limit %s not checked: %s", self.scope, error)
            return True


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
    """Sign-in attempts per client address: slows password guessing."""

    scope = "sign_in"

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
