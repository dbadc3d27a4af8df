"""The sign-in page, rate-limited per client address like the token endpoint."""
from django.contrib.auth import views as auth_views

from aigc_platform.accounts.throttling import SignInRateThrottle


class SignInView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        throttle = SignInRateThrottle()
        if not throttle.allow_request(request, self):
            form = self.get_form()
            wait = int(throttle.wait() or 60)
            form.add_error(None, f"Too many sign-in attempts; try again in {wait} seconds.")
            return self.render_to_response(self.get_context_data(form=form, throttled=True), status=429)
        return super().post(request, *args, **kwargs)
