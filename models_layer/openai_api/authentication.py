"""`Authorization: Bearer <API key or token>`, as OpenAI's clients send their key."""

from rest_framework import authentication
from rest_framework.authentication import TokenAuthentication

from aigc_platform.accounts.authentication import api_key_credentials
from aigc_platform.accounts.services import KEY_PREFIX


class BearerAuthentication(authentication.BaseAuthentication):
    """A platform API key (`aigc_…`) or a REST token, after `Bearer`. The API key is kept as
    `request.auth`, so its usage and quotas are counted against it as on the rest of the API."""

    def authenticate(self, request):
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return None
        if credential.startswith(f"{KEY_PREFIX}_"):
            return api_key_credentials(request, credential)  # expiry and scopes as on the REST API
        return TokenAuthentication().authenticate_credentials(credential)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="aigc-platform"'
