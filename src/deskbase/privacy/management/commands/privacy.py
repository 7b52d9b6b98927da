"""`deskbase privacy purge [--dry-run] [--organization SLUG]` and `deskbase privacy exports`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from deskbase.organizations.models import Organization
from deskbase.privacy import exports, retention


class Command(BaseCommand):
    help = "Personal data: retention purges and export building (docs/privacy.md)."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        purge = commands.add_parser(
            "purge", help="purge closed tickets past each organization's retention months"
        )
        purge.add_argument("--dry-run", action="store_true", help="only count what would be purged")
        purge.add_argument("--organization", help="only this organization (slug)")
        commands.add_parser("exports", help="build waiting exports now; delete expired ones")

    def handle(self, *args, **options) -> None:
        if options["action"] == "exports":
            done = exports.build_pending()
            self.stdout.write(
                f"exports: {done['built']} built, {done['failed']} failed, "
                f"{done['expired']} expired"
            )
            return
        org_id = None
        if options.get("organization"):
            org = Organization.objects.filter(slug=options["organization"]).first()
            if org is None:
                raise CommandError(f"no organization {options['organization']!r}")
            org_id = org.id
        dry = options["dry_run"]
        result = retention.run(dry_run=dry, organization_id=org_id, say=self.stdout.write)
        verb = "would purge" if dry else "purged"
        if not result:
            self.stdout.write("no organization has a retention policy on")
        for slug, count in result.items():
            self.stdout.write(f"{slug}: {verb} {count} tickets")
