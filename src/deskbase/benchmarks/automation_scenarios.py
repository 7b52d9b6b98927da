"""Benchmarks of the automation engine (docs/automation.md).

- `ticket_update_50_rules`: an agent changes a ticket's priority while the organization
  has 50 active event rules on ticket.updated, of five shapes (state leaves on the
  ticket, all / any groups, a change leaf, leaves on the requester), none of which
  matches (their cost is the evaluation, not their actions).
- `ticket_update_no_rules`: the same update with those rules inactive: the difference
  between the two is what the rules add.
- `time_rules_pass`: one per-minute pass of the organization's time rules, with a rule
  over every overdue ticket (a candidate scan bounded by the indexed due time) whose
  other condition matches none, so each pass reads the same candidates.

The rules are made once (named `deskbase-bench ...`, by an admin of the organization)
and left in place; they match no ticket. Delete them from /manage/rules/ after a run
if the organization is used for anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deskbase.accounts.models import Role, User
from deskbase.automation import services as rules
from deskbase.automation import timed
from deskbase.automation.models import Rule
from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.registry import Prepared, inprocess, selects_from
from deskbase.benchmarks.scenarios import _load, _open_bench_ticket, bench_customer
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets import services

NEVER = {"field": "ticket.tags", "op": "includes", "value": "deskbase-bench-never"}
TAG = [{"type": "add_tags", "tags": ["deskbase-bench-never"]}]
EVENT_RULES = 50
# Five shapes of condition, each failing only at its last leaf where it can (so every
# leaf before it is evaluated), cycled over the rules.
SHAPES: tuple[dict, ...] = (
    {"all": [{"field": "ticket.priority", "op": "one_of", "value": ["low", "high"]},
             {"field": "ticket.subject", "op": "contains", "value": "Bench"}, NEVER]},
    {"any": [{"field": "requester.email_domain", "op": "is", "value": "bench.invalid"},
             {"field": "ticket.subject", "op": "starts_with", "value": "deskbase-never"}]},
    {"all": [{"changed": "ticket.priority"},
             {"field": "ticket.status", "op": "one_of", "value": ["new", "open"]}, NEVER]},
    {"all": [{"any": [{"field": "ticket.channel", "op": "is", "value": "api"},
                      {"field": "ticket.sla_breach", "op": "is", "value": False}]},
             {"field": "requester.name", "op": "contains", "value": "deskbase-never"}]},
    {"all": [{"field": "ticket.assignee", "op": "is_set"},
             {"field": "ticket.description", "op": "not_contains", "value": "deskbase-never"},
             NEVER]},
)  # fmt: skip


def _admin(organization: Organization) -> User:
    with tenant(organization):
        admin = User.objects.filter(
            organization=organization, role=Role.ADMIN, is_active=True
        ).first()
    if admin is None:
        raise Skip("the organization has no active admin to own the bench rules")
    return admin


def _ensure(organization: Organization, name: str, activator: str, definition: dict) -> None:
    with tenant(organization):
        exists = Rule.objects.filter(organization=organization, name=name).exists()
    if not exists:
        rules.rule_create(organization=organization, actor=_admin(organization), name=name,
                          activator=activator, definition=definition)  # fmt: skip


def _event_rules(organization: Organization, *, active: bool) -> None:
    """The bench's EVENT_RULES rules on ticket.updated, made once, (de)activated here."""
    for index in range(EVENT_RULES):
        _ensure(organization, f"deskbase-bench event {index}", "event", {
            "events": ["ticket.updated"], "conditions": SHAPES[index % len(SHAPES)],
            "actions": TAG,
        })  # fmt: skip
    with tenant(organization):
        made = Rule.objects.filter(
            organization=organization, activator="event", name__startswith="deskbase-bench event "
        )
        for rule in made.exclude(is_active=active):
            rules.rule_update(organization=organization, actor=_admin(organization),
                              rule=rule, version=rule.version, is_active=active)  # fmt: skip


def _priority_flips(ctx: Context, *, rules_active: bool) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)
    _event_rules(organization, active=rules_active)
    customer = bench_customer(organization)

    def worker(index: int) -> Callable[[], Any]:
        ticket = _open_bench_ticket(organization, agent, customer)
        flip = {"low": "high", "high": "low", "medium": "high", "urgent": "low"}

        def call() -> Any:
            nonlocal ticket
            ticket = services.ticket_update(
                organization=organization, actor=agent, ticket=ticket,
                version=ticket.version, priority=flip[ticket.priority],
            )  # fmt: skip
            return ticket

        return call

    return Prepared(worker, details={"active_event_rules": EVENT_RULES if rules_active else 0},
                    tenant=(organization.id, agent.id))  # fmt: skip


@inprocess("ticket_update_no_rules", "an agent changes a ticket's priority, the bench's event"
           " rules inactive (the baseline of ticket_update_50_rules)",
           main_sql=selects_from("tickets_ticket"), writes=True)  # fmt: skip
def ticket_update_no_rules(ctx: Context) -> Prepared:
    return _priority_flips(ctx, rules_active=False)


@inprocess("ticket_update_50_rules", "an agent changes a ticket's priority with 50 active"
           " event rules (none matching)", main_sql=selects_from("tickets_ticket"),
           writes=True)  # fmt: skip
def ticket_update_50_rules(ctx: Context) -> Prepared:
    return _priority_flips(ctx, rules_active=True)


# Time rules whose key is bounded by an index but whose other condition only Python
# evaluates (on the requester): each pass reads and evaluates its full scan of
# candidates, the most a pass can cost per rule.
PYTHON_NEVER = {"field": "requester.name", "op": "contains", "value": "deskbase-never"}
TIME_RULES = {
    "deskbase-bench time overdue": {"all": [
        {"time": "ticket.resolution_due_at", "op": "overdue"}, PYTHON_NEVER]},
    "deskbase-bench time waiting": {"all": [
        {"time": "ticket.last_customer_reply_at", "op": "older_than", "minutes": 180,
         "business": True},
        {"field": "ticket.status", "op": "one_of", "value": ["new", "open"]}, PYTHON_NEVER]},
}  # fmt: skip


@inprocess("time_rules_pass", "one per-minute pass of two time rules over the organization"
           " (resolution overdue; last customer reply 3 business hours ago), each reading its"
           " full scan of candidates and matching none", main_sql=selects_from("tickets_ticket"),
           writes=True)  # fmt: skip
def time_rules_pass(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, _ = _load(subjects, subjects.agent_id)
    for name, conditions in TIME_RULES.items():
        _ensure(organization, name, "time", {"conditions": conditions, "actions": TAG})

    def call() -> Any:
        return timed.run_time_rules(organization=organization.id)

    return Prepared(lambda index: call, details={"tickets": subjects.organization_tickets,
                    "time_rules": len(TIME_RULES), "scan_per_rule": timed.SCAN},
                    tenant=(organization.id, None))  # fmt: skip
