"""The one engine: evaluate rules, apply their actions, record each firing.

Event rules run in the `after` phase of the ticket events (inside the write's
transaction): what they change is committed with the write, or not at all.

An *event cycle* starts with a write by a person (or a time rule, or a macro) and
holds every rule firing that follows from it. In a cycle each rule fires at most
once: a rule's own changes never wake it again, and two rules that undo each other
stop after one round (the second match of each is recorded as `skipped`). Changes
made by rules wake the later rules of the cycle, up to `MAX_DEPTH` (10) nested
writes; past it, the rules that would match are recorded as `capped`.

An organization without active event rules pays one lookup of a cached entry per
ticket write (no query on a hit); with rules, the conditions are evaluated in Python
on the instance the event carries, so a write that matches no rule costs no query
more whatever the number of rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import prefetch_related_objects
from django.utils import timezone

from deskbase.accounts.models import STAFF_ROLES, User
from deskbase.automation import actions
from deskbase.automation.conditions import Facts, Outcome, evaluate, matches
from deskbase.automation.models import Activator, Firing, Rule
from deskbase.core import events
from deskbase.core.cache import cached_read, invalidate_on_commit
from deskbase.organizations.models import Organization
from deskbase.tickets.models import Ticket, TicketComment

logger = logging.getLogger(__name__)
MAX_DEPTH = 10
CACHE_NAME = "automation_rules"


# ------------------------------------------------------------------ the rules, cached
@dataclass(frozen=True)
class RuleSpec:
    """What the engine needs of a rule: no model instance, so it can be cached."""

    id: int
    name: str
    version: int
    activator: str
    definition: dict
    author_id: int | None

    @classmethod
    def of(cls, rule: Rule) -> RuleSpec:
        return cls(rule.pk, rule.name, rule.version, rule.activator, rule.definition,
                   rule.updated_by_id)  # fmt: skip


def event_rules(organization_id: int, actor_id: int | None = None) -> dict[str, list[RuleSpec]]:
    """Active event rules by event name, in position order (cached per organization).

    `actor_id`: the actor the caller's transaction already has set (an event's), so a
    load inside the write sets nothing."""

    def query() -> dict[str, list[RuleSpec]]:
        by_event: dict[str, list[RuleSpec]] = {}
        rules = Rule.objects.filter(
            organization_id=organization_id, activator=Activator.EVENT, is_active=True
        ).order_by("position", "id")
        for rule in rules:
            for name in rule.definition.get("events", []):
                by_event.setdefault(name, []).append(RuleSpec.of(rule))
        return by_event

    return cached_read(CACHE_NAME, organization_id, query, actor_id=actor_id)


def rules_changed(organization_id: int) -> None:
    """Forget the cached rules once the saving transaction commits."""
    invalidate_on_commit(organization_id, CACHE_NAME)


# ------------------------------------------------------------------ the cycle
@dataclass
class Cycle:
    fired: set[int] = field(default_factory=set)
    capped: set[int] = field(default_factory=set)  # rules stopped by the depth cap
    depth: int = 0
    actors: dict[int, User | None] = field(default_factory=dict)
    touched: bool = False


_cycle: ContextVar[Cycle | None] = ContextVar("automation_cycle", default=None)


@contextmanager
def cycle() -> Iterator[Cycle]:
    """The current event cycle, or a new one for the duration of the block."""
    current = _cycle.get()
    if current is not None:
        yield current
        return
    current = Cycle()
    token = _cycle.set(current)
    try:
        yield current
    finally:
        _cycle.reset(token)


def _author(cycle: Cycle, spec: RuleSpec) -> User | None:
    """Who a rule acts as: the staff member who saved it last (history names them)."""
    key = spec.author_id or 0
    if key not in cycle.actors:
        user = User.objects.filter(pk=key, role__in=STAFF_ROLES, is_active=True).first()
        cycle.actors[key] = user
    return cycle.actors[key]


# ------------------------------------------------------------------ facts
def last_customer_reply(ticket: Ticket) -> datetime | None:
    """Kept on the ticket by tickets.services (comment_add, hiding and moving comments)."""
    return ticket.last_customer_reply_at


def facts_for(
    ticket: Ticket, *, now: datetime | None = None, event: str | None = None,
    changes: dict | None = None, comment: TicketComment | None = None,
) -> Facts:  # fmt: skip
    from deskbase import cached as hot

    return Facts(
        ticket=ticket, now=now or timezone.now(), event=event, changes=changes or {},
        comment=comment,
        load_requester=lambda: ticket.customer,
        load_calendar=lambda: hot.business_calendar(ticket.organization_id),
        load_last_customer_reply=lambda: last_customer_reply(ticket),
    )  # fmt: skip


# ------------------------------------------------------------------ firing
def record(
    spec: RuleSpec, *, ticket: Ticket | None, trigger: str, depth: int, outcome: str,
    matched: list[Outcome], changes: list[str] | None = None, errors: list[str] | None = None,
    actor_id: int | None = None,
) -> None:  # fmt: skip
    Firing.objects.create(
        organization_id=ticket.organization_id if ticket else 0, rule_id=spec.id,
        rule_name=spec.name, rule_version=spec.version, activator=spec.activator,
        trigger=trigger, ticket_id=ticket.pk if ticket else None, actor_id=actor_id,
        depth=depth, outcome=outcome,
        matched=[{"path": o.path, "text": o.text} for o in matched if o.matched],
        changes=list(changes or []), errors=list(errors or []),
    )  # fmt: skip


def fire(
    spec: RuleSpec, *, ticket: Ticket, trigger: str, matched: list[Outcome], actor: User | None,
    current: Cycle,
) -> actions.Applied:  # fmt: skip
    """Apply the rule's actions to the ticket and record the firing."""
    current.fired.add(spec.id)
    organization = Organization(id=ticket.organization_id)
    applied = actions.apply_all(
        spec.definition["actions"],
        organization=organization,
        actor=actor,
        ticket=ticket,
        rule=(spec.id, spec.version, spec.name),
    )
    if applied.changes:
        current.touched = True
    record(spec, ticket=ticket, trigger=trigger, depth=current.depth - 1, matched=matched,
           outcome="failed" if applied.errors and not applied.changes else "fired",
           changes=applied.changes, errors=applied.errors,
           actor_id=actor.pk if actor else None)  # fmt: skip
    return applied


def run_rules(specs: list[RuleSpec], facts: Facts, *, trigger: str) -> None:
    """Evaluate the rules in order on the facts; fire the ones that match."""
    with cycle() as current:
        for spec in specs:
            if not matches(spec.definition["conditions"], facts):
                continue
            _, outcomes = evaluate(spec.definition["conditions"], facts)  # the explanation
            ticket = facts.ticket
            if spec.id in current.fired:
                record(spec, ticket=ticket, trigger=trigger, depth=current.depth,
                       outcome="skipped", matched=outcomes,
                       errors=["already fired in this event cycle: a rule fires once"])  # fmt: skip
                continue
            if current.depth >= MAX_DEPTH or current.capped:
                # Past the cap the cycle is a runaway: nothing more fires in it.
                if spec.id not in current.capped:
                    current.capped.add(spec.id)
                    record(spec, ticket=ticket, trigger=trigger, depth=current.depth,
                           outcome="capped", matched=outcomes,
                           errors=[f"changes by rules nest at most {MAX_DEPTH} deep"])  # fmt: skip
                continue
            current.depth += 1
            try:
                applied = fire(spec, ticket=ticket, trigger=trigger, matched=outcomes,
                               actor=_author(current, spec), current=current)  # fmt: skip
            finally:
                current.depth -= 1
            if applied.changes and ticket.pk is not None:
                # The later rules look at the ticket as this one left it.
                ticket.refresh_from_db()


# ------------------------------------------------------------------ the event activator
def _on_ticket_event(event: events.Event) -> None:
    specs = event_rules(event.organization_id, event.actor_id).get(event.name)
    if specs:
        _rules_on_ticket(specs, event)


def _rules_on_ticket(specs: list[RuleSpec], event: events.Event) -> None:
    ticket: Ticket = event.instance
    if ticket.deleted_at is not None:
        return
    facts = facts_for(ticket, event=event.name, changes=event.changes)
    # The service answers with this very instance: run_rules refreshes it after a
    # rule changed the ticket, so the caller sees the ticket as the rules left it.
    run_rules(specs, facts, trigger=event.name)


def _on_comment_added(event: events.Event) -> None:
    specs = event_rules(event.organization_id, event.actor_id).get(event.name)
    if not specs:
        return
    comment: TicketComment = event.instance
    ticket = Ticket.objects.select_related("customer").get(pk=comment.ticket_id)
    facts = facts_for(ticket, event=event.name, comment=comment)
    if comment.author is not None:
        facts.actor_is_staff = comment.author.role in STAFF_ROLES
    run_rules(specs, facts, trigger=event.name)


def _on_mail_received(event: events.Event) -> None:
    """A classified message that became a ticket or a reply: rules on the mail itself
    (its classification, sender, subject) act on that ticket."""
    specs = event_rules(event.organization_id, event.actor_id).get(event.name)
    message = event.instance
    if not specs or message.ticket_id is None:
        return
    ticket = Ticket.objects.select_related("customer").filter(pk=message.ticket_id).first()
    if ticket is None:
        return
    facts = facts_for(ticket, event=event.name)
    facts.mail = message
    run_rules(specs, facts, trigger=event.name)


def _on_sla_alert(event: events.Event) -> None:
    """A ticket's target became at risk or breached (the periodic pass): rules may
    check which target (`sla.target`) and act on the ticket."""
    specs = event_rules(event.organization_id, event.actor_id).get(event.name)
    if not specs:
        return
    ticket: Ticket = event.instance.ticket
    if ticket.deleted_at is not None:
        return
    facts = facts_for(ticket, event=event.name)
    facts.sla_target = event.instance.target
    run_rules(specs, facts, trigger=event.name)


def _on_ticket_events(group: list[events.Event]) -> None:
    """`_on_ticket_event` for a chunk's events (a bulk action, events.after_each): the
    rules are read once (one cache read, not one per ticket) and the requesters of the
    chunk's tickets in one query, then each event is evaluated exactly as one by one, in
    the chunk's order (the rules' actions never change the rules)."""
    specs = event_rules(group[0].organization_id, group[0].actor_id).get(group[0].name)
    if not specs:
        return
    load_requesters([event.instance for event in group if event.instance.deleted_at is None])
    for event in group:
        _rules_on_ticket(specs, event)


def load_requesters(tickets: list[Ticket]) -> None:
    """Read the requesters of these tickets in one query (none already read), so the
    conditions on `requester.*` read no row per ticket."""
    prefetch_related_objects(tickets, "customer")


events.for_many(_on_ticket_events)(_on_ticket_event)
events.subscribe(events.TICKET_CREATED, "after")(_on_ticket_event)
events.subscribe(events.TICKET_UPDATED, "after")(_on_ticket_event)
events.subscribe(events.COMMENT_ADDED, "after")(_on_comment_added)
events.subscribe(events.MAIL_RECEIVED, "after")(_on_mail_received)
events.subscribe(events.SLA_AT_RISK, "after")(_on_sla_alert)
events.subscribe(events.SLA_BREACHED, "after")(_on_sla_alert)


# ------------------------------------------------------------------ macros
def run_macro(
    macro: Rule, *, organization: Organization, actor: User, ticket: Ticket
) -> actions.Applied:
    """Apply a macro as the agent; the changes start a cycle of their own."""
    spec = RuleSpec.of(macro)
    with cycle() as current:
        current.depth += 1
        applied = actions.apply_all(
            spec.definition["actions"],
            organization=organization,
            actor=actor,
            ticket=ticket,
            rule=(spec.id, spec.version, spec.name),
        )
        current.depth -= 1
    record(spec, ticket=ticket, trigger="macro", depth=0, matched=[],
           outcome="failed" if applied.errors and not applied.changes else "fired",
           changes=applied.changes, errors=applied.errors, actor_id=actor.pk)  # fmt: skip
    return applied


def explain(spec: RuleSpec, facts: Facts) -> tuple[bool, list[Outcome]]:
    """Whether the rule would match these facts, with every condition's reason."""
    return evaluate(spec.definition["conditions"], facts)
