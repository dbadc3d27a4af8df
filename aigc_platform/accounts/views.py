"""The sign-in pages (the platform's and the admin's), under the one sign-in limit (backends.py): a
refused attempt is a 429 that says why and for how long, and signs no one in."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from aigc_platform.accounts.services import SignInRefused


class RefusalAwareForm:
    """A sign-in form that shows a refused attempt as its error, keeping the refusal for the status."""

    refused: SignInRefused | None = None

    def clean(self):
        try:
            return super().clean()
        except SignInRefused as refused:
            self.refused = refused
            raise ValidationError(refused.message, code=refused.code) from None


class SignInForm(RefusalAwareForm, AuthenticationForm):
    pass


class AdminSignInForm(RefusalAwareForm, AdminAuthenticationForm):
    pass


def _refused_status(response):
    """A sign-in page whose form was refused answers 429 with Retry-After."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    refused = getattr(form, "refused", None)
    if refused is not None:
        response.status_code = 429
        for name, value in refused.headers.items():
            response.headers[name] = value
    return response


class SignInView(auth_views.LoginView):
    authentication_form = SignInForm

    def get_context_data(self, **kwargs):
        # The page says why a refused attempt was refused (not "wrong password").
        return super().get_context_data(**kwargs) | {
            "throttled": getattr(kwargs.get("form"), "refused", None) is not None
        }

    def post(self, request, *args, **kwargs):
        return _refused_status(super().post(request, *args, **kwargs))


def admin_sign_in(request):
    """The admin's sign-in page (admin.site.login, its own template and checks, with AdminSignInForm as
    accounts/apps.py sets it) under the same limit."""
    return _refused_status(admin.site.login(request))
