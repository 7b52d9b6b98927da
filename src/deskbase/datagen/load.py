"""`deskbase generate`: checks, then one transaction that plans, streams and restores.

See docs/datagen.md for what is generated and how it is loaded.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from django.db import DatabaseError, connection, transaction

from deskbase import cached, config
from deskbase.datagen import loader, worker
from deskbase.datagen.plan import HISTORY_DAYS, Job, Summary, produce
from deskbase.datagen.progress import Progress, duration
from deskbase.datagen.tenants import GENERATED_PASSWORD

MAX_TICKETS = 50_000_000
# Measured at 1M tickets: 4.3 GiB of tables and indexes, about 4.6 KB per ticket with its
# rows; the margin covers WAL (max_wal_size) and the sort files of the index builds.
BYTES_PER_TICKET = 5_000
DISK_MARGIN = 2 * 1024**3
# From this size on the rows are generated in a worker process, beside the COPY (worker.py);
# below it, starting a process costs more than it saves.
WORKER_MIN_TICKETS = 20_000


class GenerateError(Exception):
    """A refusal with the exit code the command ends with."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# The data set's "now" unless --until says otherwise: fixed, so that the same seed and
# ticket count give the same rows on any day (`--until today` for a data set ending now).
DEFAULT_UNTIL = date(2026, 11, 1)


@dataclass(frozen=True)
class Options:
    tickets: int
    orgs: int = 50
    seed: int = 1
    mode: str = "fresh"  # fresh, append or reset
    until: date = DEFAULT_UNTIL  # "now" of the data set: midnight UTC starting this day

    @property
    def end(self) -> date:
        return self.until


@dataclass
class Report:
    options: Options
    rows: dict[str, int]
    summary: Summary
    load_seconds: float
    seconds: float = 0.0
    database_bytes: int | None = None
    freeze: bool = False
    moved_from_default: int = 0  # rows that went through a default partition

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# ------------------------------------------------------------------ checks
def validate(options: Options) -> None:
    """Refuse impossible requests before anything touches the database."""
    if options.tickets < 1:
        raise GenerateError(f"--tickets must be at least 1 (got {options.tickets})")
    if options.tickets > MAX_TICKETS:
        raise GenerateError(
            f"--tickets {options.tickets:,} is more than this generator loads ({MAX_TICKETS:,})"
        )
    if options.orgs < 1:
        raise GenerateError(f"--orgs must be at least 1 (got {options.orgs})")
    if options.orgs > options.tickets:
        raise GenerateError(
            f"--orgs {options.orgs:,} is more than --tickets {options.tickets:,}: "
            "every organization gets at least one ticket"
        )
    if options.mode not in ("fresh", "append", "reset"):
        raise GenerateError(f"unknown mode {options.mode!r}")
    today = datetime.now(UTC).date()
    if options.end > today:
        raise GenerateError(f"--until {options.end} is in the future (today is {today} UTC)")
    if options.end.year < 2000:
        raise GenerateError("--until must be in 2000 or later")


def refuse_existing(options: Options) -> None:
    if options.mode != "fresh":
        return
    with connection.cursor() as cursor:
        count = loader.organization_count(cursor)
    if count:
        raise GenerateError(
            f"the database already holds {count:,} organization(s); nothing was written. "
            "Use --append to add generated organizations beside them, or --reset to remove "
            "every organization and its data first.",
            code=2,
        )


def needed_bytes(tickets: int) -> int:
    return tickets * BYTES_PER_TICKET + DISK_MARGIN


def data_directory() -> Path | None:
    """Where the database's files live, when this process can know it."""
    if config.embedded():
        return config.cluster().data_dir
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")  # superusers and pg_read_all_settings only
            path = Path(cursor.fetchone()[0])
    except Exception:
        return None
    return path if path.exists() else None


def free_bytes(path: Path) -> int:
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def check_disk(options: Options, warn: TextIO | None) -> None:
    directory = data_directory()
    if directory is None:
        if warn is not None:
            warn.write("note: the database's data directory is not visible from here; "
                       "free disk space was not checked\n")  # fmt: skip
        return
    free, needed = free_bytes(directory), needed_bytes(options.tickets)
    if free < needed:
        raise GenerateError(
            f"not enough disk space for {options.tickets:,} tickets: about "
            f"{needed / 2**30:.1f} GiB needed, {free / 2**30:.1f} GiB free in {directory}"
        )


# ------------------------------------------------------------------ the load
def generate(options: Options, progress_stream: TextIO | None = None) -> Report:
    """Load the data set in one transaction; nothing stays behind if anything fails."""
    validate(options)
    refuse_existing(options)
    check_disk(options, progress_stream)
    started = time.monotonic()
    try:
        with transaction.atomic():
            report = _load(options, progress_stream, started)
    except DatabaseError as error:
        raise GenerateError(_database_failure(error)) from error
    # COPY sends no signal: what a shared cache (Redis) holds for these ids is stale.
    cached.invalidate_every_organization()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        report.database_bytes = cursor.fetchone()[0]
    report.seconds = time.monotonic() - started
    return report


def _database_failure(error: DatabaseError) -> str:
    """One line for a refusal by PostgreSQL (an unreachable server is not one: re-raised)."""
    state = getattr(error.__cause__, "sqlstate", None)
    if state is None:
        raise error
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if state == "55P03":  # lock_not_available
        return (
            "the tables are in use (a running web server or another session holds them); "
            f"nothing was written. Stop it and try again ({reason})"
        )
    return f"the load failed and was rolled back, nothing was written: {reason}"


def _load(options: Options, stream: TextIO | None, started: float) -> Report:
    with connection.cursor() as cursor:
        loader.configure(cursor)
        loader.lock(cursor)
        if options.mode == "fresh" and loader.organization_count(cursor):
            raise GenerateError("organizations appeared meanwhile; nothing was written", code=2)
        if options.mode == "reset":
            loader.reset(cursor)
        freeze = options.mode == "reset" or (
            options.mode == "fresh" and loader.truncate_for_freeze(cursor)
        )
        # The span of every dated row of the load: tickets from HISTORY_DAYS before
        # the end, their organizations set up a few weeks before their first ticket.
        loader.prepare_partitions(
            cursor, options.end - timedelta(days=HISTORY_DAYS + 31), options.end
        )
        aside = loader.set_aside(cursor)
        cursor.execute("SELECT slug FROM organizations_organization ORDER BY slug")
        job = Job(
            tickets=options.tickets, orgs=options.orgs, seed=options.seed, until=options.end,
            last_ids=loader.last_ids(cursor), taken_slugs=[row[0] for row in cursor.fetchall()],
        )  # fmt: skip
    progress = Progress(stream, options.tickets)
    copier = loader.Copier(
        connection.connection, freeze=loader.BULK_TABLES if freeze else (), progress=progress
    )
    summary = _produce(job, copier)
    loaded = time.monotonic() - started
    _finish(aside, summary, progress)
    rows = {**copier.rows, "tickets_ticketcounter": len(summary.organizations)}
    return Report(
        options, rows, summary, loaded, freeze=freeze, moved_from_default=aside.moved_from_default
    )


def _produce(job: Job, copier: loader.Copier) -> Summary:
    if job.tickets < WORKER_MIN_TICKETS:
        return produce(job, copier)
    try:
        return worker.run(job, lambda f: copier.copy(f.table, f.data, f.rows, f.tickets))
    except worker.WorkerFailed as error:
        raise GenerateError(f"{error}; nothing was written") from error


def _finish(aside: loader.SetAside, summary: Summary, progress: Progress) -> None:
    with connection.cursor() as cursor:
        for step, what in enumerate(loader.restore(cursor, aside), start=1):
            progress.phase(f"restoring {step}/{aside.steps}: {what}")
        progress.phase("counters, sequences and statistics")
        loader.write_counters(cursor, [(org, count) for org, _, count in summary.organizations])
        loader.sync_sequences(cursor, loader.ID_TABLES)
        loader.analyze(cursor, (*loader.ID_TABLES, "tickets_ticketcounter"))
    progress.finish()


def summary(report: Report) -> list[str]:
    """The lines the command prints at the end."""
    o = report.options
    rate = report.total_rows / report.load_seconds if report.load_seconds else 0
    lines = [
        f"generated {o.tickets:,} tickets in {o.orgs:,} organizations (seed {o.seed}, "
        f"until {o.end}) in {duration(report.seconds)} ({report.seconds:.1f} s)",
        f"  rows: {report.total_rows:,} in {report.load_seconds:.1f} s of generating and COPY: "
        f"{rate:,.0f} rows/s; {report.total_rows / report.seconds:,.0f} rows/s overall",
    ]
    width = max(len(t) for t in report.rows)
    lines += [f"  {table:<{width}}  {count:>12,}" for table, count in report.rows.items()]
    if report.database_bytes is not None:
        lines.append(f"  database size: {report.database_bytes / 2**30:.2f} GiB")
    lines += _landmarks(report)
    return lines


def _landmarks(report: Report) -> list[str]:
    found = report.summary
    org_id, slug, tickets = found.organizations[0]
    lines = [
        f"  largest organization: {slug} (id {org_id}, {tickets:,} tickets); logins: "
        f"admin@{slug}.deskbase.test, agent1@..., password {GENERATED_PASSWORD}"
    ]
    if found.busiest_agent:
        user, count = found.busiest_agent
        lines.append(f"  busiest agent: user id {user} ({count:,} tickets assigned)")
    if found.long_thread:
        ticket, org, comments = found.long_thread
        lines.append(
            f"  a long thread: ticket id {ticket} (organization {org}, {comments} comments)"
        )
    return lines
