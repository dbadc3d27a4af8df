from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "aigc_platform.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from aigc_platform.audit import receivers  # noqa: F401
