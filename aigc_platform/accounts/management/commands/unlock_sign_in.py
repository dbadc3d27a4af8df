"""`aigc unlock-sign-in NAME|ADDRESS`: clear the sign-in lockouts of an account or a client address."""

from django.core.management.base import BaseCommand

from aigc_platform.accounts.services import sign_in_lockouts_clear


class Command(BaseCommand):
    help = "Let an account (by username) or a client (by IP address) sign in again at once, clearing its lockouts."

    def add_arguments(self, parser):
        parser.add_argument("key", help="A username or a client's IP address.")

    def handle(self, *args, key, **options):
        cleared = sign_in_lockouts_clear(key=key)
        if cleared:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Cleared {cleared} lockout{'s' if cleared != 1 else ''} of {key}; "
                    "its counted failures are forgotten."
                )
            )
        else:
            self.stdout.write(f"{key} was not locked out; its counted failures are forgotten.")
