"""The organizations and everything a ticket refers to: people, teams, categories, SLAs.

`plan_organizations` decides sizes and ids (no database access); `setup_rows` yields
the COPY rows of each table. Sizes follow the issue: the largest organization holds
about 40 % of the tickets (Zipf weights, the exponent solved for that share), about
one agent per 2,000 tickets (at least 2), one customer per 10 tickets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from deskbase.datagen import vocab
from deskbase.datagen.copytext import NULL, Clock, escape, jsonb
from deskbase.datagen.fastcal import CalendarTime, FastCalendar
from deskbase.datagen.ids import Ids
from deskbase.datagen.regions import ZONES, Zone, business_hours, holidays_between
from deskbase.sla.calendar import BusinessCalendar
from deskbase.tickets.models import Priority

LARGEST_SHARE = 0.40
TICKETS_PER_AGENT = 2000
TICKETS_PER_CUSTOMER = 10
PRIORITIES = tuple(Priority.values)
TIERS = ("basic", "premium", "enterprise")
# (first response, resolution) minutes for a basic customer; urgent counts calendar time.
TARGETS = {"urgent": (30, 240), "high": (60, 480), "medium": (240, 1440), "low": (480, 2880)}
TIER_FACTOR = (1.0, 0.5, 0.25)
ORG_TIERS = ("enterprise", "professional", "starter", "free")
GENERATED_PASSWORD = "deskbase-generated"  # noqa: S105 - documented login of generated data


@dataclass(frozen=True)
class Policy:
    id: int
    valid_from: int
    first_response: int  # seconds
    resolution: int
    calendar: FastCalendar | CalendarTime


@dataclass
class Org:
    """One generated organization: its ids and what the ticket generator needs."""

    index: int
    id: int
    slug: str
    name: str
    tier: str
    zone: Zone
    hours_variant: int
    start: int  # epoch seconds: its first ticket may come from here on
    tickets: int
    agents: int
    customers: int
    admin_id: int = 0
    manager_ids: list[int] = field(default_factory=list)
    agent_ids: list[int] = field(default_factory=list)
    customer_first: int = 0
    customer_tiers: bytearray = field(default_factory=bytearray)
    team_ids: list[int] = field(default_factory=list)
    team_members: dict[int, list[int]] = field(default_factory=dict)
    team_for_skill: dict[str, int] = field(default_factory=dict)
    categories: list[tuple[int, str]] = field(default_factory=list)
    policies: dict[tuple[int, int], list[Policy]] = field(default_factory=dict)
    revised_at: int | None = None
    last_ticket: tuple[int, int] | None = None  # (id, number) of its latest ticket

    @property
    def team_count(self) -> int:
        return min(len(vocab.TEAM_NAMES), max(1, math.ceil(self.agents / 6)))

    def policy(self, priority: int, tier: int, created: int) -> Policy:
        versions = self.policies[(priority, tier)]
        chosen = versions[0]
        for version in versions:  # at most two, oldest first
            if version.valid_from <= created:
                chosen = version
        return chosen


def ticket_shares(orgs: int, tickets: int) -> list[int]:
    """Tickets per organization: Zipf weights whose largest share is ~40 %, each >= 1."""
    target = max(LARGEST_SHARE, 1.0 / orgs)
    low, high = 0.0, 20.0
    for _ in range(60):  # bisect the exponent: the largest share grows with it
        s = (low + high) / 2
        weights = [1.0 / (k**s) for k in range(1, orgs + 1)]
        if weights[0] / sum(weights) < target:
            low = s
        else:
            high = s
    weights = [1.0 / (k**high) for k in range(1, orgs + 1)]
    total = sum(weights)
    spare = tickets - orgs
    exact = [spare * w / total for w in weights]
    counts = [1 + int(x) for x in exact]
    # Largest remainders get the tickets the rounding left over.
    order = sorted(range(orgs), key=lambda i: (int(exact[i]) - exact[i], i))
    for i in order[: tickets - sum(counts)]:
        counts[i] += 1
    return counts


def plan_organizations(
    *, orgs: int, tickets: int, seed: int, first: int, last: int, ids: Ids, taken: set[str]
) -> list[Org]:
    """Sizes, places and id ranges of the organizations (ids from `ids`)."""
    rng = random.Random(f"datagen-orgs-{seed}")  # noqa: S311 - reproducible fake data
    plans = []
    span_hours = (last - first) // 3600
    for index, count in enumerate(ticket_shares(orgs, tickets)):
        org_id = ids.take("organizations_organization")
        company = f"{rng.choice(vocab.COMPANY_WORDS)} {rng.choice(vocab.COMPANY_KINDS)}"
        slug = _unique_slug(company, org_id, taken)
        # The largest tenants have been here all along; the others joined over time.
        joined = 0 if index < 3 else int(span_hours * 0.7 * rng.random())
        org = Org(
            index=index, id=org_id, slug=slug, name=company,
            tier=ORG_TIERS[0] if index == 0 else rng.choice(ORG_TIERS),
            zone=ZONES[0] if index == 0 else rng.choices(ZONES, [z.weight for z in ZONES])[0],
            hours_variant=0 if index == 0 else rng.choices(range(5), [50, 20, 10, 10, 10])[0],
            start=first + joined * 3600, tickets=count,
            agents=max(2, round(count / TICKETS_PER_AGENT)),
            customers=max(1, round(count / TICKETS_PER_CUSTOMER)),
        )  # fmt: skip
        if rng.random() < 0.3 and last - org.start > 60 * 86_400:
            org.revised_at = org.start + (last - org.start) // 2 // 3600 * 3600
        plans.append(org)
    return plans


def _unique_slug(company: str, org_id: int, taken: set[str]) -> str:
    base = "-".join(company.lower().replace("'", "").split())
    slug = f"{base}-{org_id}"
    while slug in taken:
        slug += "-g"
    taken.add(slug)
    return slug


# (zone, variant, first day, last day) -> calendar: loads with the same "now" share them.
_CALENDARS: dict[tuple[str, int, date, date], FastCalendar] = {}


class Calendars:
    """One FastCalendar per (time zone, business-hours variant), shared by organizations."""

    def __init__(self, first_day: date, last_day: date) -> None:
        self.first_day, self.last_day = first_day, last_day

    def holidays(self, zone: Zone) -> list[tuple[date, str]]:
        return holidays_between(zone.region, self.first_day, self.last_day)

    def get(self, zone: Zone, variant: int) -> FastCalendar:
        key = (zone.name, variant, self.first_day, self.last_day)
        if key not in _CALENDARS:
            dates = frozenset(day for day, _ in self.holidays(zone))
            calendar = BusinessCalendar(zone.name, business_hours(variant), dates)
            _CALENDARS[key] = FastCalendar(calendar, self.first_day, self.last_day)
        return _CALENDARS[key]


class SetupWriter:
    """COPY rows of the tables a ticket refers to; fills each Org with the ids it needs."""

    def __init__(self, orgs: list[Org], ids: Ids, clock: Clock, calendars: Calendars,
                 password_hash: str, seed: int, now: int) -> None:  # fmt: skip
        self.orgs, self.ids, self.clock, self.calendars = orgs, ids, clock, calendars
        self.now = now
        self.password = escape(password_hash)
        self.rng = random.Random(f"datagen-people-{seed}")  # noqa: S311 - fake data

    def organizations(self, seed: int) -> Iterator[str]:
        ts = self.clock.ts
        for org in self.orgs:
            created = ts(org.start - 7 * 86_400)
            settings = jsonb({"generated": {"seed": seed, "index": org.index}})
            hours = jsonb(business_hours(org.hours_variant))
            yield (
                f"{org.id}\t{org.slug}\t{escape(org.name)}\t{org.tier}\t{settings}\t"
                f"{org.zone.name}\t{hours}\t{created}\t{created}\t{NULL}\t{NULL}\t\n"
            )

    def holidays(self) -> Iterator[str]:
        for org in self.orgs:
            created = self.clock.ts(org.start - 7 * 86_400)
            for day, name in self.calendars.holidays(org.zone):
                hid = self.ids.take("organizations_holiday")
                yield f"{hid}\t{org.id}\t{day.isoformat()}\t{escape(name)}\t{created}\n"

    def users(self) -> Iterator[str]:
        for org in self.orgs:
            yield from self._staff(org)
            yield from self._customers(org)

    def _user(self, org: Org, uid: int, email: str, name: str, role: str, extra: tuple) -> str:
        tier, availability, skills, limit, active_at, joined = extra
        staff = "t" if role == "admin" else "f"  # may use the Django admin
        return (
            f"{uid}\t{org.id}\t{email}\t{escape(name)}\t{role}\t{tier}\t{availability}\t"
            f"{skills}\t{limit}\t{active_at}\tt\t{staff}\tf\t{joined}\t{self.password}\t"
            f"{NULL}\t{NULL}\t{NULL}\t\n"
        )

    def _staff(self, org: Org) -> Iterator[str]:
        ts, rng = self.clock.ts, self.rng
        joined = ts(org.start - 6 * 86_400)
        domain = f"{org.slug}.deskbase.test"
        org.admin_id = self.ids.take("accounts_user")
        name = f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}"
        extra = ("basic", "online", "[]", 20, NULL, joined)
        yield self._user(org, org.admin_id, f"admin@{domain}", name, "admin", extra)
        for k in range(max(1, org.agents // 10)):
            uid = self.ids.take("accounts_user")
            org.manager_ids.append(uid)
            name = f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}"
            yield self._user(org, uid, f"manager{k + 1}@{domain}", name, "manager", extra)
        skills = [s for _, s in vocab.TEAM_NAMES[: org.team_count] if s] or ["general"]
        for k in range(org.agents):
            uid = self.ids.take("accounts_user")
            org.agent_ids.append(uid)
            mine = sorted({skills[k % len(skills)], rng.choice(skills)})
            availability = rng.choices(("online", "away", "offline"), (6, 2, 2))[0]
            active = ts(self.now - int(rng.expovariate(1 / 7200)))
            extra = ("basic", availability, jsonb(mine), rng.choice((15, 20, 25, 40)), active,
                     joined)  # fmt: skip
            name = f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}"
            yield self._user(org, uid, f"agent{k + 1}@{domain}", name, "agent", extra)

    def _customers(self, org: Org) -> Iterator[str]:
        rng = self.rng
        first, last = vocab.FIRST_NAMES, vocab.LAST_NAMES
        domains = vocab.CUSTOMER_DOMAINS
        org.customer_first = self.ids.take("accounts_user", org.customers)
        org.customer_tiers = bytearray(rng.choices((0, 1, 2), (70, 22, 8), k=org.customers))
        joined = self.clock.ts(org.start - 5 * 86_400)
        for k in range(org.customers):
            given, family = first[(k * 7 + org.index) % len(first)], last[(k * 13) % len(last)]
            email = f"{given}.{family}.{k + 1}@{domains[k % len(domains)]}".lower()
            tier = TIERS[org.customer_tiers[k]]
            extra = (tier, NULL, "[]", 20, NULL, joined)
            uid = org.customer_first + k
            yield self._user(org, uid, email, f"{given} {family}", "customer", extra)

    def teams(self) -> Iterator[str]:
        for org in self.orgs:
            created = self.clock.ts(org.start - 6 * 86_400)
            for name, skill in vocab.TEAM_NAMES[: org.team_count]:
                tid = self.ids.take("accounts_team")
                org.team_ids.append(tid)
                org.team_members[tid] = []
                if skill:
                    org.team_for_skill[skill] = tid
                yield f"{tid}\t{org.id}\t{escape(name)}\t\t{created}\t{created}\n"

    def memberships(self) -> Iterator[str]:
        for org in self.orgs:
            created = self.clock.ts(org.start - 6 * 86_400)
            for k, agent in enumerate(org.agent_ids):
                teams = {org.team_ids[k % len(org.team_ids)]}
                if self.rng.random() < 0.3:
                    teams.add(self.rng.choice(org.team_ids))
                for team in sorted(teams):
                    org.team_members[team].append(agent)
                    mid = self.ids.take("accounts_teammembership")
                    yield f"{mid}\t{org.id}\t{team}\t{agent}\t{created}\n"

    def categories(self) -> Iterator[str]:
        for org in self.orgs:
            created = self.clock.ts(org.start - 6 * 86_400)
            roots = vocab.CATEGORY_TREE if org.tickets >= 50 else vocab.CATEGORY_TREE[:3]
            for name, skill, children in roots:
                root = self.ids.take("tickets_category")
                org.categories.append((root, skill))
                yield f"{root}\t{org.id}\t{escape(name)}\t{NULL}\t{skill}\t{created}\t{created}\n"
                for child in children:
                    cid = self.ids.take("tickets_category")
                    org.categories.append((cid, skill))
                    yield (
                        f"{cid}\t{org.id}\t{escape(child)}\t{root}\t{skill}\t{created}\t{created}\n"
                    )

    def policies(self) -> Iterator[str]:
        for org in self.orgs:
            scale = self.rng.choice((0.5, 0.75, 1.0, 1.0, 1.5, 2.0))
            calendar = self.calendars.get(org.zone, org.hours_variant)
            for p, priority in enumerate(PRIORITIES):
                for t, tier in enumerate(TIERS):
                    yield from self._policy_versions(org, p, priority, t, tier, scale, calendar)

    def _policy_versions(self, org: Org, p: int, priority: str, t: int, tier: str,
                         scale: float, calendar: FastCalendar) -> Iterator[str]:  # fmt: skip
        ts = self.clock.ts
        first, resolve = TARGETS[priority]
        first = max(15, int(first * TIER_FACTOR[t] * scale))
        resolve = max(first, 60, int(resolve * TIER_FACTOR[t] * scale))
        business = priority != "urgent"
        counting = calendar if business else CalendarTime()
        begin = org.start - 7 * 86_400
        revised = org.revised_at if priority in ("urgent", "high") else None
        periods = [(begin, revised, 1.5), (revised, None, 1.0)] if revised else [(begin, None, 1.0)]
        label = f"{priority.title()} / {tier}"
        versions = []
        for valid_from, valid_until, looser in periods:
            pid = self.ids.take("sla_slapolicy")
            fr, res = int(first * looser), int(resolve * looser)
            versions.append(Policy(pid, valid_from, fr * 60, res * 60, counting))
            name = label + (" (until revision)" if valid_until else "")
            until = ts(valid_until) if valid_until else NULL
            yield (
                f"{pid}\t{org.id}\t{escape(name)}\t{priority}\t{tier}\t{fr}\t{res}\t"
                f"{'t' if business else 'f'}\tt\t{ts(valid_from)}\t{until}\t"
                f"{ts(begin)}\t{ts(begin)}\n"
            )
        org.policies[(p, t)] = versions

    def canned(self) -> Iterator[str]:
        for org in self.orgs:
            created = self.clock.ts(org.start - 6 * 86_400)
            shared = vocab.CANNED if org.tickets >= 200 else vocab.CANNED[:5]
            owners = [NULL] * len(shared) + [str(a) for a in org.agent_ids[:2]]
            names = [n for n, _ in shared] + ["My sign-off"] * len(org.agent_ids[:2])
            bodies = [b for _, b in shared] + ["Thanks,\n{{ agent.name }}"] * 2
            for owner, name, body in zip(owners, names, bodies, strict=False):
                rid = self.ids.take("tickets_cannedresponse")
                uses = int(self.rng.expovariate(1 / max(1, org.tickets / 50)))
                yield (
                    f"{rid}\t{org.id}\t{escape(name)}\t{escape(body)}\t{owner}\t{uses}\t"
                    f"{created}\t{created}\t{NULL}\t{NULL}\t\n"
                )
