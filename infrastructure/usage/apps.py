from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "infrastructure.usage"
    label = "usage"
    verbose_name = "Usage and quotas"
