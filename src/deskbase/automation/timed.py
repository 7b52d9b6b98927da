"""Time rules: the worker's pass every minute, and the preview of what a rule would do now.

A time rule's first time condition is its *key*: the instant it reads (a due time, the
last customer reply) is the occurrence. A rule fires on a ticket at most once per
occurrence: firing inserts (rule, ticket, occurrence) into automation_timeoccurrence
with ON CONFLICT DO NOTHING, in the transaction of its actions, and acts only if the
row was new. A second pass (or a concurrent one: its INSERT waits for the first to
commit, then finds the row) does nothing. When the instant moves (a new customer
reply, a recomputed due time), that is a new occurrence, and the rule may fire again:
no "nullifying" condition needed.

Candidates come from one indexed query per rule: the key instant bounded by the rule's
minutes (a business-hours duration is never longer than the same wall-clock span, so
the wall-clock bound is safe), tickets not closed, cancelled or deleted, and without
the occurrence recorded; the whole condition tree is then evaluated in Python.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from deskbase.automation import engine
from deskbase.automation.conditions import Outcome, evaluate
from deskbase.automation.models import Activator, Rule, TimeOccurrence
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.models import ENDED_STATUSES, Ticket

BATCH = 200  # firings per rule per pass; the rest come on the next minute's pass
SCAN = 2000  # candidates looked at per rule per pass (oldest occurrence first)
PREVIEW_SCAN = 500
# State leaves at the top of an `all` group that SQL can apply to the candidates
# (so the bounded scan is not spent on tickets those leaves exclude).
SQL_FIELDS = {"ticket.status": "status", "ticket.priority": "priority",
              "ticket.channel": "channel", "ticket.team": "team_id",
              "ticket.assignee": "assignee_id", "ticket.category": "category_id",
              "ticket.sla_breach": "sla_breach"}  # fmt: skip
ENDED = ENDED_STATUSES


def key_leaf(definition: dict) -> dict | None:
    """The first time leaf of the tree (depth first): the rule's occurrence."""

    def walk(node: dict) -> dict | None:
        if "time" in node:
            return node
        for key in ("all", "any"):
            for item in node.get(key, []):
                found = walk(item)
                if found is not None:
                    return found
        return None

    return walk(definition["conditions"])


def candidates(rule: Rule, *, now: datetime) -> QuerySet[Ticket]:
    """The tickets whose key instant is in range and whose occurrence is not recorded."""
    leaf = key_leaf(rule.definition)
    assert leaf is not None  # schema: a time rule has a time condition
    column = leaf["time"].partition(".")[2]
    # Read in the key's order from its partial index tickets_time_* (not ended, not deleted).
    tickets = Ticket.objects.filter(organization_id=rule.organization_id).exclude(status__in=ENDED)
    limit = timedelta(minutes=leaf.get("minutes", 0))
    if leaf["op"] == "older_than":
        tickets = tickets.filter(**{f"{column}__lte": now - limit})
    elif leaf["op"] == "overdue":
        tickets = tickets.filter(**{f"{column}__lte": now})
    else:
        tickets = tickets.filter(**{f"{column}__gt": now})
        if not leaf.get("business"):
            tickets = tickets.filter(**{f"{column}__lte": now + limit})
    tickets = _state_filters(tickets, rule.definition["conditions"])
    done = TimeOccurrence.objects.filter(
        organization_id=rule.organization_id, rule_id=rule.pk, ticket_id=OuterRef("pk"),
        occurrence=OuterRef(column),
    )  # fmt: skip
    return tickets.exclude(Exists(done)).select_related("customer").order_by(F(column).asc(), "id")


def _state_filters(tickets: QuerySet[Ticket], node: dict) -> QuerySet[Ticket]:
    """The top-level `all` leaves on plain columns and tags, as SQL. The Python
    evaluation that follows checks them again (and everything else)."""
    for leaf in node.get("all", []):
        column = SQL_FIELDS.get(leaf.get("field", ""))
        op, value = leaf.get("op"), leaf.get("value")
        if leaf.get("field") == "ticket.tags":
            tags = [str(t).strip().lower() for t in (value if isinstance(value, list) else
                                                      [value])]  # fmt: skip
            if op == "includes":
                tickets = tickets.filter(tags__contains=tags)
            elif op == "excludes":
                tickets = tickets.exclude(tags__overlap=tags)
        elif column is None:
            continue
        elif op == "is":
            tickets = tickets.filter(**{column: value})
        elif op == "one_of":
            tickets = tickets.filter(**{f"{column}__in": value})
        elif op == "is_not":
            tickets = tickets.exclude(**{column: value})
        elif op == "not_one_of":
            tickets = tickets.exclude(**{f"{column}__in": value})
        elif op == "is_set":
            tickets = tickets.filter(**{f"{column}__isnull": False})
        elif op == "not_set":
            tickets = tickets.filter(**{f"{column}__isnull": True})
    return tickets


def occurrence_of(rule: Rule, ticket: Ticket) -> datetime:
    leaf = key_leaf(rule.definition)
    assert leaf is not None
    return getattr(ticket, leaf["time"].partition(".")[2])


def _facts(ticket: Ticket, now: datetime, calendar: Callable[[], Any]) -> Any:
    facts = engine.facts_for(ticket, now=now)
    facts.load_calendar = calendar  # one calendar for the pass: its days computed once
    return facts


def _pass_calendar(organization_id: int) -> Callable[[], Any]:
    from deskbase import cached as hot

    return functools.cache(lambda: hot.business_calendar(organization_id))


def _claim(rule: Rule, ticket: Ticket, occurrence: datetime) -> bool:
    """Record the occurrence; False when a pass (this one or another) already did."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO automation_timeoccurrence (organization_id, rule_id, ticket_id,"
            " occurrence) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [rule.organization_id, rule.pk, ticket.pk, occurrence],
        )
        return cursor.fetchone() is not None


@dataclass
class PassResult:
    rules: int = 0
    fired: int = 0
    errors: list[str] = field(default_factory=list)


def run_time_rules(*, organization: Organization | int, now: datetime | None = None) -> PassResult:
    """One pass of the organization's active time rules; each rule in its own transaction."""
    now = now or timezone.now()
    org_id = organization if isinstance(organization, int) else organization.pk
    result = PassResult()
    with tenant(org_id, savepoint=False):
        rule_ids = list(
            Rule.objects.filter(organization_id=org_id, activator=Activator.TIME, is_active=True)
            .order_by("position", "id")
            .values_list("pk", flat=True)
        )
    for rule_id in rule_ids:
        result.rules += 1
        with tenant(org_id):
            rule = Rule.objects.filter(pk=rule_id, is_active=True).first()
            if rule is None:
                continue
            result.fired += _run_rule(rule, now)
    return result


def _run_rule(rule: Rule, now: datetime) -> int:
    spec = engine.RuleSpec.of(rule)
    fired = 0
    calendar = _pass_calendar(rule.organization_id)
    for ticket in candidates(rule, now=now)[:SCAN]:
        if fired >= BATCH:
            break
        facts = _facts(ticket, now, calendar)
        matched, outcomes = evaluate(rule.definition["conditions"], facts)
        if not matched:
            continue
        with transaction.atomic():
            if not _claim(rule, ticket, occurrence_of(rule, ticket)):
                continue
            with engine.cycle() as current:
                author = engine._author(current, spec)
                current.depth += 1
                engine.fire(spec, ticket=ticket, trigger="time", matched=outcomes,
                            actor=author, current=current)  # fmt: skip
                current.depth -= 1
            fired += 1
    return fired


def run_all(*, now: datetime | None = None) -> dict[str, Any]:
    """Every organization with active time rules, one at a time; one organization's
    failure is reported and does not stop the others."""
    import logging

    logger = logging.getLogger(__name__)
    with connection.cursor() as cursor:
        # The owner role (the worker) sees every tenant's rules.
        cursor.execute(
            "SELECT DISTINCT organization_id FROM automation_rule"
            " WHERE activator = 'time' AND is_active ORDER BY 1"
        )
        org_ids = [row[0] for row in cursor.fetchall()]
    done: dict[int, int] = {}
    failed: dict[int, str] = {}
    for org_id in org_ids:
        try:
            done[org_id] = run_time_rules(organization=org_id, now=now).fired
        except Exception as error:
            logger.exception("time rules of organization %s failed", org_id)
            failed[org_id] = f"{type(error).__name__}: {error}"[:500]
    return {"organizations": len(done), "fired": sum(done.values()), "failed": failed}


# ------------------------------------------------------------------ explaining
@dataclass
class Preview:
    count: int  # matching among the scanned candidates
    scanned: int
    more: bool  # candidates beyond the scan: the count is a lower bound
    tickets: list[dict[str, Any]]


def preview(rule: Rule, *, now: datetime | None = None, limit: int = 50) -> Preview:
    """The tickets the time rule would act on now (bounded: PREVIEW_SCAN candidates)."""
    now = now or timezone.now()
    rows = list(candidates(rule, now=now)[: PREVIEW_SCAN + 1])
    more = len(rows) > PREVIEW_SCAN
    matching = []
    calendar = _pass_calendar(rule.organization_id)
    for ticket in rows[:PREVIEW_SCAN]:
        facts = _facts(ticket, now, calendar)
        matched, outcomes = evaluate(rule.definition["conditions"], facts)
        if matched:
            matching.append((ticket, outcomes))
    listed = [
        {"number": t.number, "subject": t.subject, "status": t.status,
         "because": [o.text for o in outcomes if o.matched]}
        for t, outcomes in matching[:limit]
    ]  # fmt: skip
    return Preview(len(matching), min(len(rows), PREVIEW_SCAN), more, listed)


def explain_on_ticket(rule: Rule, ticket: Ticket, *, now: datetime | None = None) -> dict[str, Any]:
    """Would the rule match this ticket now? Every condition with its reason.

    Change and comment conditions have no event to read here: they say so.
    """
    ticket.refresh_from_db()  # as it is now (the caller's copy may predate a reply)
    facts = engine.facts_for(ticket, now=now or timezone.now())
    matched, outcomes = evaluate(rule.definition["conditions"], facts)
    extra: list[Outcome] = []
    already = False
    if rule.activator == Activator.TIME:
        leaf = key_leaf(rule.definition)
        at = occurrence_of(rule, ticket) if leaf else None
        if at is not None:
            already = TimeOccurrence.objects.filter(
                organization_id=rule.organization_id, rule_id=rule.pk, ticket_id=ticket.pk,
                occurrence=at,
            ).exists()  # fmt: skip
    return {
        "rule": rule.pk, "version": rule.version, "ticket": ticket.number,
        "matches": matched and not already, "already_fired_for_this_occurrence": already,
        "conditions": [{"path": o.path, "matched": o.matched, "reason": o.text}
                       for o in [*outcomes, *extra]],
    }  # fmt: skip
