"""`aigc create-user NAME --role creator`: a user in one of the three roles."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from aigc_platform.accounts.roles import CREATOR, ROLES
from aigc_platform.accounts.services import user_create
from aigc_platform.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a user with a role (admin, operator or creator)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, default=CREATOR)
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Asked for when left out.")

    def handle(self, *args, username, role, email, password, **options):
        password = password or getpass.getpass(f"Password for {username}: ")
        try:
            user_create(username=username, password=password, role=role, email=email)
        except ApplicationError as error:
            details = "; ".join(message for messages in (error.fields or {}).values() for message in messages)
            raise CommandError(f"{error.message} {details}".strip()) from None
        self.stdout.write(self.style.SUCCESS(f"Created {role} {username}."))
