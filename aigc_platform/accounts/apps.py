from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "aigc_platform.accounts"
    label = "accounts"
    verbose_name = "Accounts and API keys"

    def ready(self) -> None:
        from django.contrib import admin

        from aigc_platform.accounts import backends, schema  # noqa: F401 (the failed sign-in counter; the OpenAPI extension)
        from aigc_platform.accounts.views import AdminSignInForm

        admin.site.login_form = AdminSignInForm
