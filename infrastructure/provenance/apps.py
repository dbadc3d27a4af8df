from django.apps import AppConfig


class ProvenanceConfig(AppConfig):
    name = "infrastructure.provenance"
    label = "provenance"
    verbose_name = "Provenance of generated content"
