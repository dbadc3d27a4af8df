"""API key authentication: `Authorization: Api-Key <key>` or the `X-API-Key` header."""
from rest_framework import authentication, exceptions

from aigc_platform.accounts.selectors import api_key_user

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
        user = api_key_user(raw_key=raw_key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return user, raw_key

    def authenticate_header(self, request) -> str:
        return "Api-Key"


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
