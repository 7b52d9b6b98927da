from django.core.management.base import BaseCommand, CommandError

from deskbase.accounts.models import User
from deskbase.accounts.tokens import token_create
from deskbase.core.errors import DomainError
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization


class Command(BaseCommand):
    help = "Create a personal API token for a user; prints it once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("email")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, **options) -> None:
        org = Organization.objects.filter(slug=options["organization"]).first()
        if org is None:
            raise CommandError(f"no organization {options['organization']!r}")
        with tenant(org):
            user = User.objects.filter(organization=org, email=options["email"].lower()).first()
        if user is None:
            raise CommandError(f"no user {options['email']!r} in {org.slug}")
        try:
            _, plain = token_create(organization=org, actor=user, name=options["name"])
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(plain)
