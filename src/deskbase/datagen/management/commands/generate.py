"""`deskbase generate --tickets N`: a deterministic, realistic helpdesk loaded with COPY."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from deskbase.datagen.articles import generate_articles
from deskbase.datagen.load import DEFAULT_UNTIL, GenerateError, Options, generate, summary


def _day(value: str) -> date:
    if value == "today":
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--until wants a date as YYYY-MM-DD (or 'today'), not {value!r}"
        ) from None


class Command(BaseCommand):
    help = (
        "Load a generated helpdesk: organizations, people, SLA policies and N tickets with "
        "their comments, history, SLA events, ratings and attachments (docs/datagen.md). "
        "Refuses a database that holds organizations unless --append or --reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, required=True, help="tickets to generate")
        parser.add_argument("--orgs", type=int, default=50, help="organizations (default 50)")
        parser.add_argument("--seed", type=int, default=1, help="same seed, same data")
        parser.add_argument(
            "--articles", type=int, default=0,
            help="also this many published knowledge base articles in the largest organization",
        )  # fmt: skip
        parser.add_argument(
            "--until",
            type=str,
            default=DEFAULT_UNTIL.isoformat(),
            help="the data set's 'now': tickets span the two years before midnight UTC of this "
            f"day, YYYY-MM-DD or 'today' (default {DEFAULT_UNTIL}, fixed so that a seed always "
            "gives the same rows)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--append", action="store_true", help="add generated organizations beside others"
        )
        mode.add_argument(
            "--reset",
            action="store_true",
            help="first remove every organization and its data (platform operators stay)",
        )

    def handle(self, *args, **options) -> None:
        mode = "append" if options["append"] else ("reset" if options["reset"] else "fresh")
        until = _day(options["until"])
        request = Options(
            tickets=options["tickets"], orgs=options["orgs"], seed=options["seed"],
            mode=mode, until=until,
        )  # fmt: skip
        progress = sys.stderr if options["verbosity"] >= 1 else None
        if options["articles"] < 0:
            raise CommandError(f"--articles must be 0 or more (got {options['articles']})")
        try:
            report = generate(request, progress)
        except GenerateError as error:
            raise CommandError(str(error), returncode=error.code) from None
        articles = 0
        if options["articles"]:
            largest = report.summary.organizations[0][0]
            with transaction.atomic(), connection.cursor() as cursor:
                articles = generate_articles(
                    cursor, organization_id=largest, count=options["articles"],
                    seed=options["seed"],
                )  # fmt: skip
        if options["verbosity"] >= 1:
            for line in summary(report):
                self.stdout.write(line)
            if articles:
                self.stdout.write(f"  knowledge base: {articles:,} published articles in the "
                                  "largest organization")  # fmt: skip
