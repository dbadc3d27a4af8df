"""`aigc bootstrap-generators`: register the built-in generators (idempotent; `aigc up` runs it)."""

from django.core.management.base import BaseCommand

from models_layer.registry.services import generators_bootstrap


class Command(BaseCommand):
    help = "Register the built-in text generator (SmolLM2) in object storage as version 1, in production, if missing."

    def handle(self, *args, **options):
        version = generators_bootstrap()
        self.stdout.write(f"{version.generator.slug} v{version.number} ({version.stage})")
