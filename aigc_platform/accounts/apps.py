from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "aigc_platform.accounts"
    label = "accounts"
    verbose_name = "Accounts and API keys"

    def ready(self) -> None:
        from aigc_platform.accounts import schema  # noqa: F401
