"""API key authentication: `Authorization: Api-Key <key>` or the `X-API-Key` header.

A key acts within its scopes: `read` for safe methods (GET, HEAD, OPTIONS), `generate` for the rest,
and `admin` for everything, including views that ask for it (`api_key_scope = "admin"`: the API keys
and tokens). An expired key is refused (401) like a revoked one."""

from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from aigc_platform.accounts.models import ApiKey, ApiKeyScope
from aigc_platform.accounts.selectors import api_key_get

SCHEME = "api-key"


def raw_key_from_headers(headers) -> str | None:
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == SCHEME and value.strip():
        return value.strip()
    return headers.get("X-API-Key") or None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw_key = raw_key_from_headers(request.headers)
        if raw_key is None:
            return None
        return api_key_credentials(request, raw_key)

    def authenticate_header(self, request) -> str:
        return "Api-Key"


def api_key_credentials(request, raw_key: str):
    """DRF's (user, auth) for a raw API key, however it was sent: 401 for a revoked, unknown or expired
    key, 403 when the key's scopes do not cover the request's view and method."""
    api_key = api_key_get(raw_key=raw_key)
    if api_key is None:
        raise exceptions.AuthenticationFailed(gettext("Invalid or revoked API key."))
    if api_key.is_expired:
        raise exceptions.AuthenticationFailed(
            gettext("This API key expired at %(expires_at)s UTC.")
            % {"expires_at": format(api_key.expires_at, "%Y-%m-%d %H:%M")}
        )
    view = (getattr(request, "parser_context", None) or {}).get("view")
    needed = required_scope(view, request.method)
    if not api_key.allows(needed):
        raise exceptions.PermissionDenied(
            gettext("This API key lacks the '%(needed)s' scope (it has %(names)s).")
            % {"needed": needed, "names": ", ".join(api_key.scopes)}
        )
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    return api_key.owner, raw_key


def required_scope(view, method: str) -> str:
    """The scope an API key needs for a view and method: the view's own, else read or generate."""
    own = getattr(view, "api_key_scope", None)
    if own:
        return str(own)
    return str(ApiKeyScope.READ if method in SAFE_METHODS else ApiKeyScope.GENERATE)


def request_user(request):
    """The user of a plain Django request, by session, token or API key: for views outside DRF
    (server-sent events), so they accept exactly what the REST API accepts."""
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.request import Request

    # The session user first: DRF's Request replaces request.user with its own (anonymous) answer.
    session_user = getattr(request, "user", None)
    if session_user is not None and session_user.is_authenticated:
        return session_user
    drf_request = Request(request, authenticators=[TokenAuthentication(), ApiKeyAuthentication()])
    try:
        user = drf_request.user
    except exceptions.APIException:
        return None
    return user if user and user.is_authenticated else None
