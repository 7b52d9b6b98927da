import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from deskbase.accounts.models import Role
from deskbase.accounts.services import user_create
from deskbase.core.errors import DomainError
from deskbase.organizations.models import Organization


class Command(BaseCommand):
    help = "Create a user of an organization with a role."

    def add_arguments(self, parser) -> None:
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("email")
        parser.add_argument("--role", choices=Role.values, default=Role.CUSTOMER)
        parser.add_argument("--name", default="")
        parser.add_argument("--password", help="prompted for when omitted (and a terminal)")

    def handle(self, *args, **options) -> None:
        org = Organization.objects.filter(slug=options["organization"]).first()
        if org is None:
            raise CommandError(f"no organization {options['organization']!r}")
        password = options["password"]
        if password is None and sys.stdin.isatty():
            password = getpass.getpass("Password: ")
        try:
            user = user_create(
                organization=org, actor=None, email=options["email"], password=password,
                role=options["role"], full_name=options["name"],
                is_staff=options["role"] == Role.ADMIN,
            )  # fmt: skip
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"created {user.role} {user.email} in {org.slug} (id {user.id})")
