"""`deskbase bench`: latency, queries and raw-SQL time of named scenarios, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError

from deskbase import config
from deskbase.benchmarks import registry
from deskbase.benchmarks.httpclient import Login
from deskbase.benchmarks.runner import Options, run
from deskbase.benchmarks.subjects import NoData

RECOMMENDED_SAMPLES = 200


def results_dir() -> Path:
    root = config.source_root()
    if root is None:
        raise CommandError("--save writes into the source checkout's bench/results/; use --output")
    return root / "bench" / "results"


def result_name(report: dict[str, Any]) -> str:
    """<date>T<hhmm>-<data set>-<mode>[-c<K>]-<commit>[-dirty].json (bench/README.md)."""
    environment = report["environment"]
    stamp = environment["date"][:16].replace(":", "")  # 2026-11-22T0040, UTC
    data_set = (environment.get("data_set") or {}).get("label", "unknown")
    parts = [stamp, data_set, report["mode"]]
    if report["options"]["concurrency"] > 1:
        parts.append(f"c{report['options']['concurrency']}")
    parts.append((environment.get("commit") or "nocommit")[:7])
    if environment.get("dirty"):
        parts.append("dirty")
    return "-".join(parts) + ".json"


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _not_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Measure named scenarios (median, p95, p99, queries per request, raw SQL time) "
        "in-process or against a running server (--http); prints JSON. See bench/README.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # fmt: off
        add = parser.add_argument
        add("--scenario", action="append", dest="scenarios", metavar="NAME",
            help="run only this scenario (repeatable); --list shows them")
        add("--samples", type=_positive, default=RECOMMENDED_SAMPLES,
            help="timed calls per scenario (default 200)")
        add("--warmup", type=_not_negative, default=20,
            help="untimed calls first, per client thread (default 20)")
        add("--concurrency", type=_positive, default=1, metavar="K",
            help="client threads, each with its own connection (default 1)")
        add("--http", metavar="URL", dest="base_url",
            help="drive a running server (deskbase up) instead of calling the code in-process")
        add("--login", metavar="SLUG:EMAIL:PASSWORD",
            help="HTTP: sign in through the form as this user (default: a session for the "
                 "busiest agent, written to the database the server shares)")
        add("--no-database", action="store_true",
            help="HTTP: leave this process's database alone (the server uses another): "
                 "no subjects, no raw SQL")
        add("--output", metavar="FILE", help="also write the JSON to FILE")
        add("--save", action="store_true",
            help="also write the JSON to bench/results/ under its conventional name")
        add("--list", action="store_true", help="list the scenarios and exit")
        # fmt: on

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
            return
        settings = self._options(options)
        save_dir = results_dir() if options["save"] else None
        if settings.samples < RECOMMENDED_SAMPLES:
            self.stderr.write(f"note: {settings.samples} samples; p99 needs at least "
                              f"{RECOMMENDED_SAMPLES} to mean much")  # fmt: skip
        try:
            report = run(settings, progress=self.stderr.write)
        except (LookupError, NoData) as error:
            raise CommandError(str(error).strip("'\"")) from None
        except OperationalError as error:
            raise CommandError(f"the database is not reachable: {error}".strip()) from None
        text = json.dumps(report, indent=2, ensure_ascii=False)
        self.stdout.write(text)
        paths = [Path(options["output"])] if options["output"] else []
        if save_dir is not None:
            paths.append(save_dir / result_name(report))
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
            self.stderr.write(f"written to {path}")
        failed = [name for name, result in report["scenarios"].items() if "error" in result]
        if failed:
            raise CommandError(f"scenarios failed: {', '.join(failed)} (see their 'error')")

    def _options(self, options: dict[str, Any]) -> Options:
        base_url = options["base_url"]
        if options["no_database"] and not base_url:
            raise CommandError("--no-database needs --http URL: in-process runs use the database")
        login = None
        if options["login"]:
            try:
                login = Login.parse(options["login"])
            except ValueError as error:
                raise CommandError(f"--login: {error}") from None
        return Options(
            mode="http" if base_url else "in-process", scenarios=options["scenarios"],
            samples=options["samples"], warmup=options["warmup"],
            concurrency=options["concurrency"], base_url=base_url.rstrip("/") if base_url else None,
            login=login, use_database=not (base_url and options["no_database"]),
        )  # fmt: skip

    def _list(self) -> None:
        for scenario in registry.load().values():
            modes = ", ".join(scenario.modes())
            writes = "  (writes)" if scenario.writes else ""
            self.stdout.write(f"{scenario.name:<18} [{modes}] {scenario.description}{writes}")
