"""The interface language: the browser's (Django's LocaleMiddleware reads Accept-Language and the
language cookie), unless the signed-in person chose one in the header, which is remembered per user."""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from aigc_platform.accounts.services import user_language_set


class UserLanguageMiddleware:
    """After authentication: a signed-in person's chosen language wins over the browser's. The API
    follows the request's Accept-Language (token clients have no header switch)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = _chosen_language(request)
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def _chosen_language(request) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/api/"):
        return ""
    try:
        language = user.preference.language
    except ObjectDoesNotExist:
        return ""
    return language if language in dict(settings.LANGUAGES) else ""


@require_POST
def language_set(request):
    """The header's switch: remember the choice (per user when signed in; in a cookie in any case) and go back."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    back = request.POST.get("next") or request.headers.get("referer") or "/"
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=language)
    response = HttpResponseRedirect(back)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=False,
    )
    return response
