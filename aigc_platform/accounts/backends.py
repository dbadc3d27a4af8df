"""The one sign-in limit: Django's model backend, behind the limits of `sign_in_check`. Every way to
sign in (the sign-in page, the admin's, the token API) goes through `authenticate`, so all of them
share the per-client rate and the per-account and per-client lockouts; a refused attempt raises
SignInRefused (a 429), which each view turns into its own answer."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from aigc_platform.accounts.services import sign_in_check, sign_in_failure_record


class SignInLimitedBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is not None and password is not None:
            sign_in_check(request=request, username=str(username))
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def count_failed_sign_in(sender, credentials, request=None, **kwargs) -> None:
    username = credentials.get("username", credentials.get(get_user_model().USERNAME_FIELD))
    if username:
        sign_in_failure_record(request=request, username=str(username))
