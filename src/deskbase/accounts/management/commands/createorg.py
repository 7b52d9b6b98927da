from django.core.management.base import BaseCommand, CommandError

from deskbase.core.errors import ValidationFailed
from deskbase.organizations.services import organization_create


class Command(BaseCommand):
    help = "Create an organization (a tenant)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="sign-in name: lower-case letters, digits, hyphens")
        parser.add_argument("name")
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--tier", default="free")

    def handle(self, *args, **options) -> None:
        try:
            org = organization_create(
                slug=options["slug"], name=options["name"], timezone=options["timezone"],
                tier=options["tier"],
            )  # fmt: skip
        except ValidationFailed as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"created organization {org.slug} (id {org.id})")
