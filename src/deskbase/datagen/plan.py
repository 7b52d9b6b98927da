"""One load's data, as a stream of COPY rows per table: no database access here.

A `Job` says what to generate and from which ids on; `produce(job, sink)` plans the
organizations, sends the rows of the setup tables, then the tickets in chunks,
and returns a `Summary`. The sink is either the COPY of this process or the pipe
of the worker process (worker.py); both get exactly the same rows.
"""

from __future__ import annotations

import functools
import heapq
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from django.contrib.auth.hashers import make_password

from deskbase.datagen import text
from deskbase.datagen.arrivals import Arrivals
from deskbase.datagen.copytext import Clock, epoch
from deskbase.datagen.ids import Ids
from deskbase.datagen.tenants import (
    GENERATED_PASSWORD,
    Calendars,
    SetupWriter,
    plan_organizations,
)
from deskbase.datagen.tickets import TABLES, TicketGenerator

CHUNK_TICKETS = 10_000
SETUP_CHUNK_ROWS = 50_000
HISTORY_DAYS = 730
PASSWORD_SALT = "deskbasegeneratedsalt0"  # noqa: S105 - fixed: same seed, same rows
SETUP_COLUMNS = {
    "organizations_organization": "id, slug, name, tier, settings, timezone, business_hours, "
    "created_at, updated_at, deleted_at, deleted_by_id, delete_reason",
    "organizations_holiday": "id, organization_id, date, name, created_at",
    "accounts_user": "id, organization_id, email, full_name, role, customer_tier, availability, "
    "skills, max_concurrent_tickets, last_active_at, is_active, is_staff, is_superuser, "
    "date_joined, password, last_login, deleted_at, deleted_by_id, delete_reason",
    "accounts_team": "id, organization_id, name, description, created_at, updated_at",
    "accounts_teammembership": "id, organization_id, team_id, user_id, created_at",
    "tickets_category": "id, organization_id, name, parent_id, skill, created_at, updated_at",
    "sla_slapolicy": "id, organization_id, name, priority, customer_tier, "
    "first_response_minutes, resolution_minutes, business_hours, is_active, valid_from, "
    "valid_until, created_at, updated_at",
    "tickets_cannedresponse": "id, organization_id, name, body, owner_id, usage_count, "
    "created_at, updated_at, deleted_at, deleted_by_id, delete_reason",
}
COLUMNS = {**SETUP_COLUMNS, **TABLES}


class Sink(Protocol):
    def send(self, table: str, rows: list[str], tickets: int) -> None:
        """Rows of `table`; `tickets` generated so far (for the progress display)."""


@dataclass(frozen=True)
class Job:
    """What to generate: the options, and the last id of each table found in the database."""

    tickets: int
    orgs: int
    seed: int
    until: date
    last_ids: dict[str, int]
    taken_slugs: list[str]

    def as_json(self) -> dict:
        return {**asdict(self), "until": self.until.isoformat()}

    @classmethod
    def from_json(cls, data: dict) -> Job:
        return cls(**{**data, "until": date.fromisoformat(data["until"])})


@dataclass
class Summary:
    """What the load reports: each organization's (id, slug, tickets) and landmarks."""

    organizations: list[tuple[int, str, int]] = field(default_factory=list)
    busiest_agent: tuple[int, int] | None = None  # (user id, tickets assigned)
    long_thread: tuple[int, int, int] | None = None  # (ticket id, organization id, comments)

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        return cls(
            organizations=[tuple(org) for org in data["organizations"]],
            busiest_agent=tuple(data["busiest_agent"]) if data["busiest_agent"] else None,
            long_thread=tuple(data["long_thread"]) if data["long_thread"] else None,
        )


def produce(job: Job, sink: Sink) -> Summary:
    plan = Plan(job)
    generator = plan.stream(sink)
    summary = Summary(organizations=[(org.id, org.slug, org.tickets) for org in plan.orgs])
    if generator.assigned:
        summary.busiest_agent = max(generator.assigned.items(), key=lambda kv: (kv[1], -kv[0]))
    summary.long_thread = generator.long_thread
    return summary


class Plan:
    """The organizations, calendars and pools of one load, and its two streams of rows."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.ids = Ids(job.last_ids)
        end = job.until
        self.now = epoch(datetime(end.year, end.month, end.day, tzinfo=UTC))
        self.first = self.now - HISTORY_DAYS * 86_400
        first_day = end - timedelta(days=HISTORY_DAYS)
        self.clock = Clock(first_day - timedelta(days=30), end + timedelta(days=400))
        self.calendars = Calendars(first_day - timedelta(days=10), end + timedelta(days=90))
        self.orgs = plan_organizations(
            orgs=job.orgs, tickets=job.tickets, seed=job.seed, first=self.first,
            last=self.now, ids=self.ids, taken=set(job.taken_slugs),
        )  # fmt: skip
        # Tiny loads (tests) need no pools of thousands of texts.
        self.pools = text.build_pools(job.seed, scale=1 if job.tickets > 2000 else 10)

    def stream(self, sink: Sink) -> TicketGenerator:
        self._setup(sink)
        seed = self.job.seed
        generator = TicketGenerator(
            rng=random.Random(f"datagen-tickets-{seed}"),  # noqa: S311 - fake data
            pools=self.pools, clock=self.clock, ids=self.ids, now=self.now, seed=seed,
        )  # fmt: skip
        for created, index, number in self._arrivals():
            generator.ticket(self.orgs[index], created, number)
            if generator.tickets % CHUNK_TICKETS == 0:
                self._flush(sink, generator)
        self._flush(sink, generator)
        generator.sync_ids()
        return generator

    def _arrivals(self) -> Iterator[tuple[int, int, int]]:
        arrivals = Arrivals(self.first, self.now)
        rng = random.Random(f"datagen-arrivals-{self.job.seed}")  # noqa: S311
        streams = [
            arrivals.stream(org.zone.name, org.start, org.tickets, org.index, rng)
            for org in self.orgs
        ]
        return heapq.merge(*streams)

    def _flush(self, sink: Sink, generator: TicketGenerator) -> None:
        for table, rows in generator.take_rows().items():
            if rows:
                sink.send(table, rows, generator.tickets)

    def _setup(self, sink: Sink) -> None:
        setup = SetupWriter(self.orgs, self.ids, self.clock, self.calendars, password_hash(),
                            self.job.seed, self.now)  # fmt: skip
        # Order matters: each generator fills ids the later ones use.
        sources = (
            ("organizations_organization", setup.organizations(self.job.seed)),
            ("organizations_holiday", setup.holidays()),
            ("accounts_user", setup.users()),
            ("accounts_team", setup.teams()),
            ("accounts_teammembership", setup.memberships()),
            ("tickets_category", setup.categories()),
            ("sla_slapolicy", setup.policies()),
            ("tickets_cannedresponse", setup.canned()),
        )
        for table, rows in sources:
            for chunk in _chunks(rows, SETUP_CHUNK_ROWS):
                sink.send(table, chunk, 0)


@functools.cache
def password_hash() -> str:
    """One hash for every generated user (argon2 costs a quarter second per call)."""
    return make_password(GENERATED_PASSWORD, salt=PASSWORD_SALT)


def _chunks(rows: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
