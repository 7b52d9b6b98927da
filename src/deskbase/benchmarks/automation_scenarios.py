"""Benchmarks of the automation engine (docs/automation.md).

- `ticket_update_20_rules`: an agent changes a ticket's priority while the organization
  has 20 active event rules on ticket.updated, none of which matches (their cost is
  the evaluation, not their actions); compare with the same update without rules by
  running it before the rules exist, or with `deskbase bench` on an organization
  without them.
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
EVENT_RULES = 20


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


@inprocess("ticket_update_20_rules", "an agent changes a ticket's priority with 20 active"
           " event rules (none matching)", main_sql=selects_from("tickets_ticket"),
           writes=True)  # fmt: skip
def ticket_update_20_rules(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)
    for index in range(EVENT_RULES):
        conditions = {"all": [NEVER, {"field": "ticket.priority", "op": "one_of",
                                      "value": ["low", "high"]}]}  # fmt: skip
        _ensure(
            organization,
            f"deskbase-bench event {index}",
            "event",
            {"events": ["ticket.updated"], "conditions": conditions, "actions": TAG},
        )
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

    return Prepared(worker, details={"event_rules": EVENT_RULES},
                    tenant=(organization.id, agent.id))  # fmt: skip


@inprocess("time_rules_pass", "one per-minute pass of the time rules: a rule over every"
           " overdue ticket, matching none", main_sql=selects_from("tickets_ticket"),
           writes=True)  # fmt: skip
def time_rules_pass(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, _ = _load(subjects, subjects.agent_id)
    conditions = {"all": [{"time": "ticket.resolution_due_at", "op": "overdue"}, NEVER]}
    _ensure(organization, "deskbase-bench time", "time",
            {"conditions": conditions, "actions": TAG})  # fmt: skip

    def call() -> Any:
        return timed.run_time_rules(organization=organization.id)

    return Prepared(lambda index: call, details={"tickets": subjects.organization_tickets},
                    tenant=(organization.id, None))  # fmt: skip
