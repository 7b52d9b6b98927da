"""Bulk actions set-based: one UPDATE per chunk, and still exactly what one by one writes.

Every scenario runs in a busy organization: an SLA policy on the tickets, a webhook
endpoint for every event, a mailbox that sends, a team whose members want to hear of
everything, so that each kind of row a ticket's change makes is made and compared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.accounts import services as accounts
from deskbase.benchmarks.automation_scenarios import SHAPES
from deskbase.bulk import services as bulk
from deskbase.core import events
from deskbase.core.errors import Vetoed
from deskbase.core.tenancy import tenant
from deskbase.notifications.models import Notification, Preference
from deskbase.outbox.models import OutboxMessage
from deskbase.sla.models import SlaEvent, SlaPolicy
from deskbase.tickets import services
from deskbase.tickets.models import Ticket, TicketHistory
from deskbase.webhooks import services as webhooks
from tests.automation.helpers import firings, make_rule
from tests.mail.admin_factories import mailbox
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

SLA_FIELDS = ("sla_policy_id", "first_response_due_at", "resolution_due_at", "sla_breach",
              "resolved_at", "closed_at")  # fmt: skip


@pytest.fixture
def busy(tenant_a, settings) -> Any:
    """tenant_a with an SLA policy for medium and urgent tickets, a webhook endpoint for
    every event, a sending mailbox, and a team whose members choose every notification."""
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = True
    org = tenant_a.org
    with tenant(org):
        for priority, minutes in (("medium", 600), ("urgent", 60)):
            SlaPolicy.objects.create(
                organization=org, name=priority, priority=priority, customer_tier="basic",
                first_response_minutes=minutes, resolution_minutes=minutes * 4,
                business_hours=False, is_active=True,
            )  # fmt: skip
    webhooks.endpoint_create(organization=org, actor=tenant_a.admin,
                             url="http://127.0.0.1:9/hook", event_types=["*"])  # fmt: skip
    mailbox(tenant_a)
    team = accounts.team_create(organization=org, actor=tenant_a.admin, name="Level 2")
    accounts.team_add_member(organization=org, actor=tenant_a.admin, team=team,
                             user=tenant_a.manager)  # fmt: skip
    with tenant(org):
        for reason in ("assigned", "reopened"):
            Preference.objects.create(organization=org, user=tenant_a.manager, reason=reason,
                                      scope="all", in_app=True, mail=True)  # fmt: skip
    tenant_a.team = team
    return tenant_a


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(event: events.Event) -> None:
        changes = {k: tuple(getattr(v, "pk", v) for v in pair) for k, pair in event.changes.items()}
        seen.append((event.name, changes))

    events.subscribe(events.TICKET_UPDATED, "after")(record)
    yield seen
    events.unsubscribe(events.TICKET_UPDATED, record, "after")


def _history(ticket: Ticket) -> list[tuple[str, Any, Any, int | None]]:
    def value(field: str, text: str | None) -> str | None:
        return "<time>" if text is not None and field.endswith("_at") else text

    rows = TicketHistory.objects.filter(ticket_id=ticket.id).exclude(field="created")
    return [(h.field, value(h.field, h.old_value), value(h.field, h.new_value), h.actor_id)
            for h in rows.order_by("id")]  # fmt: skip


def _sla_events(ticket: Ticket) -> list[tuple[str, str, str]]:
    rows = SlaEvent.objects.filter(ticket_id=ticket.id).order_by("id")
    return [(e.kind, e.target, e.reason) for e in rows]


def _state(ticket: Ticket) -> dict[str, Any]:
    t = Ticket.all_objects.get(pk=ticket.pk)
    state = {f: getattr(t, f) for f in ("status", "priority", "assignee_id", "team_id", "tags",
                                        "version", "sla_breach", "sla_policy_id")}  # fmt: skip
    for f in ("first_response_due_at", "resolution_due_at", "sla_paused_at", "resolved_at",
              "closed_at"):  # fmt: skip
        state[f] = getattr(t, f) is not None
    return state


def _outbox() -> Counter[str]:
    return Counter(OutboxMessage.objects.values_list("consumer", flat=True))


Prepare = Callable[[Any, Ticket], None]


def _pending(w: Any, t: Ticket) -> None:
    services.ticket_change_status(organization=w.org, actor=w.agent, ticket=t, status="pending")


def _resolved(w: Any, t: Ticket) -> None:
    services.ticket_change_status(organization=w.org, actor=w.agent, ticket=t, status="resolved")


CASES: list[tuple[str, str, dict[str, Any], Prepare | None]] = [
    ("to pending", "status", {"status": "pending", "reason": "asked"}, None),
    ("pending back to open", "status", {"status": "open"}, _pending),
    ("resolved", "status", {"status": "resolved"}, None),
    ("reopened", "status", {"status": "open"}, _resolved),
    ("assigned", "assign", {"assignee_id": "manager"}, None),
    ("unassigned", "assign", {"assignee_id": None}, None),
    ("urgent", "priority", {"priority": "urgent"}, None),
    ("team", "team", {"team_id": "team"}, None),
    ("tag added", "add_tags", {"tags": ["vip", "a"]}, None),
    ("tag removed", "remove_tags", {"tags": ["a"]}, None),
]


def _one_by_one(w: Any, action: str, params: dict[str, Any], t: Ticket) -> None:
    common = {"organization": w.org, "actor": w.agent, "ticket": t, "version": t.version}
    if action == "status":
        services.ticket_change_status(**common, status=params["status"],
                                      reason=params.get("reason", ""))  # fmt: skip
    elif action == "assign":
        assignee = w.manager if params["assignee_id"] else None
        services.ticket_assign(**common, assignee=assignee)
    elif action == "priority":
        services.ticket_update(**common, priority=params["priority"])
    elif action == "team":
        services.ticket_update(**common, team=w.team)
    elif action == "add_tags":
        services.ticket_update(**common, tags=[*t.tags, *(x for x in params["tags"]
                                                          if x not in t.tags)])  # fmt: skip
    else:
        services.ticket_update(**common, tags=[x for x in t.tags if x not in params["tags"]])


def _named(w: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The case's params with "manager" and "team" as the world's ids."""
    if params.get("assignee_id") == "manager":
        return {"assignee_id": w.manager.id}
    if params.get("team_id") == "team":
        return {"team_id": w.team.id}
    return params


def _two_sets(
    w: Any, action: str, prepare: Prepare | None, count: int
) -> tuple[list[Ticket], list[Ticket]]:
    """Two identical sets of tickets tagged a and b, assigned to the manager (to the agent
    for an assignment), prepared alike: one for one by one, one for the bulk job."""

    def make(label: str) -> list[Ticket]:
        made = [open_ticket(w, subject=f"{label} {i}", tags=["a", "b"]) for i in range(count)]
        for t in made:
            owner = w.agent if action == "assign" else w.manager
            services.ticket_assign(organization=w.org, actor=w.admin, ticket=t, assignee=owner)
            if prepare:
                prepare(w, t)
        return [Ticket.objects.get(pk=t.pk) for t in made]

    return make("single"), make("bulk")


@pytest.mark.parametrize(("case", "action", "params", "prepare"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_set_based_writes_what_one_by_one_writes(busy, recorded, case, action, params, prepare):
    # Given two identical sets of four tickets (assigned to the manager, in no team)
    w = busy
    params = _named(w, params)
    singles, batch = _two_sets(w, action, prepare, 4)
    outbox_before, notes_before = _outbox(), Notification.objects.count()
    recorded.clear()

    # When the first set is changed one by one and the second in one set-based chunk
    for t in singles:
        _one_by_one(w, action, params, t)
    single_events, single_outbox = list(recorded), _outbox() - outbox_before
    single_notes = Notification.objects.count() - notes_before
    recorded.clear()
    job = bulk.bulk_start(organization=w.org, actor=w.agent, action=action, params=params,
                          tickets=[bulk.Selected(t.number, t.version) for t in batch])  # fmt: skip
    job = bulk.bulk_run(organization=w.org, job_id=job.id)

    # Then both sets have the same rows: history, SLA events and fields, versions,
    # events, outbox messages (webhooks, mail) and notifications
    assert (job.state, job.done, job.skipped) == ("finished", 4, [])
    for single, bulked in zip(singles, batch, strict=True):
        assert _history(bulked) == _history(single) != []
        assert _sla_events(bulked) == _sla_events(single)
        assert _state(bulked) == _state(single)
    assert recorded == single_events
    assert _outbox() - outbox_before - single_outbox == single_outbox
    assert Notification.objects.count() - notes_before - single_notes == single_notes
    assert sum(single_outbox.values()) >= 4  # a webhook per ticket at least


def _chunk_statements(w: Any, action: str, params: dict[str, Any], chosen: list[Ticket]) -> int:
    """The statements of one chunk of a job over the chosen tickets."""
    job = bulk.bulk_start(organization=w.org, actor=w.agent, action=action, params=params,
                          tickets=[bulk.Selected(t.number) for t in chosen])  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        job = bulk.bulk_run_chunk(organization=w.org, job_id=job.id)
    assert job.done == len(chosen), job.skipped
    return len(queries)


def _as_if_committed() -> None:
    """As if the setup had committed (the test's transaction never does): its on-commit
    work runs, and the caches it invalidated (policies, endpoints, mailboxes, rules)
    serve again."""
    callbacks = [entry[1] for entry in connection.run_on_commit]
    connection.run_on_commit.clear()
    for callback in callbacks:
        callback()


@pytest.mark.parametrize(("action", "params", "prepare"), [
    ("status", {"status": "pending"}, None),
    ("status", {"status": "open"}, _pending),
    ("assign", {"assignee_id": "manager"}, None),
    ("priority", {"priority": "urgent"}, None),
    ("add_tags", {"tags": ["vip"]}, None),
])  # fmt: skip
def test_a_chunk_costs_the_same_statements_whatever_its_size(busy, action, params, prepare):
    # Given 1 and then 30 tickets in a busy organization
    w = busy
    params = _named(w, params)
    tickets = [open_ticket(w) for _ in range(32)]
    for t in tickets:
        if prepare:
            prepare(w, t)

    def statements(chosen: list[Ticket]) -> int:
        return _chunk_statements(w, action, params, chosen)

    _as_if_committed()
    statements(tickets[:1])  # warms the caches (roster, webhook subscriptions, senders)
    # When a chunk of 1 and a chunk of 30 run, Then they cost the same statements
    assert statements(tickets[1:2]) == statements(tickets[2:32]) <= 20


def test_a_ticket_a_subscriber_refuses_is_skipped_and_the_others_done(tenant_a):
    # Given three tickets, and a subscriber that refuses any change of the second
    batch = [open_ticket(tenant_a) for _ in range(3)]
    refused = batch[1].id

    def refuse(event: events.Event) -> None:
        if event.instance.id == refused:
            raise Vetoed("this ticket is frozen")

    events.subscribe(events.TICKET_UPDATED, "after")(refuse)
    try:
        job = bulk.bulk_start(organization=tenant_a.org, actor=tenant_a.agent, action="status",
                              params={"status": "open"},
                              tickets=[bulk.Selected(t.number) for t in batch])  # fmt: skip
        job = bulk.bulk_run(organization=tenant_a.org, job_id=job.id)
    finally:
        events.unsubscribe(events.TICKET_UPDATED, refuse, "after")

    # Then the chunk went one by one: the refused ticket is skipped with the reason
    assert (job.state, job.done) == ("finished", 2)
    assert job.skipped == [{"number": batch[1].number, "reason": "this ticket is frozen"}]
    statuses = [Ticket.objects.get(pk=t.pk) for t in batch]
    assert [(t.status, t.version) for t in statuses] == [("open", 2), ("new", 1), ("open", 2)]


# ------------------------------------------------------------------ with event rules
@pytest.fixture
def ruled(busy) -> Any:
    """busy with event rules on ticket.updated that read the requester: one that matches
    every ticket of the customer's domain (and tags it), one that never matches."""
    w = busy
    domain = w.customer.email.rpartition("@")[2]
    make_rule(w, "from the domain", events=["ticket.updated"],
              conditions={"all": [{"field": "requester.email_domain", "op": "is", "value": domain},
                                  {"field": "requester.tier", "op": "one_of",
                                   "value": ["basic", "premium", "enterprise"]}]},
              actions=[{"type": "add_tags", "tags": ["from-domain"]}])  # fmt: skip
    make_rule(w, "never", events=["ticket.updated"],
              conditions={"field": "requester.name", "op": "contains", "value": "no-such-name"},
              actions=[{"type": "add_tags", "tags": ["never"]}])  # fmt: skip
    return w


RULED_CASES = [c for c in CASES if c[0] in ("to pending", "assigned", "urgent", "tag removed")]


@pytest.mark.parametrize(("case", "action", "params", "prepare"), RULED_CASES,
                         ids=[c[0] for c in RULED_CASES])  # fmt: skip
def test_set_based_with_rules_on_the_requester_writes_what_one_by_one_writes(
    ruled, recorded, case, action, params, prepare
):
    # Given two identical sets of three tickets, in an organization whose event rules
    # read the requester (one matches every ticket and tags it, one never matches)
    w = ruled
    params = _named(w, params)
    singles, batch = _two_sets(w, action, prepare, 3)
    fired_before = len(firings(w))
    outbox_before = _outbox()
    recorded.clear()

    # When the first set is changed one by one and the second in one set-based chunk
    for t in singles:
        _one_by_one(w, action, params, t)
    single_events, single_outbox = list(recorded), _outbox() - outbox_before
    single_firings = len(firings(w)) - fired_before
    recorded.clear()
    job = bulk.bulk_start(organization=w.org, actor=w.agent, action=action, params=params,
                          tickets=[bulk.Selected(t.number, t.version) for t in batch])  # fmt: skip
    job = bulk.bulk_run(organization=w.org, job_id=job.id)

    # Then the rules fired on each ticket of both sets alike, and both sets hold the same rows
    assert (job.state, job.done, job.skipped) == ("finished", 3, [])
    assert single_firings == 3
    assert len(firings(w)) - fired_before - single_firings == single_firings
    for single, bulked in zip(singles, batch, strict=True):
        assert "from-domain" in Ticket.objects.get(pk=bulked.pk).tags
        assert _history(bulked) == _history(single) != []
        assert _state(bulked) == _state(single)
    assert recorded == single_events
    assert _outbox() - outbox_before - single_outbox == single_outbox


@pytest.mark.parametrize(("action", "params"), [
    ("status", {"status": "pending"}),
    ("assign", {"assignee_id": "manager"}),
    ("add_tags", {"tags": ["vip"]}),
])  # fmt: skip
def test_a_chunk_with_50_active_rules_costs_the_same_statements_whatever_its_size(
    tenant_a, action, params
):
    # Given 50 active event rules on ticket.updated that read the requester and match none
    # (the bench's shapes), and 32 tickets of two requesters, in an organization with no
    # webhook endpoint (whose subscriber would read the requesters for its payloads)
    w = tenant_a
    params = _named(w, params)
    for index in range(50):
        make_rule(w, f"rule {index}", events=["ticket.updated"],
                  conditions=SHAPES[index % len(SHAPES)],
                  actions=[{"type": "add_tags", "tags": ["never"]}])  # fmt: skip
    other = accounts.user_create(organization=w.org, actor=w.admin, email="b@other.example",
                                 full_name="Other Customer", role="customer")  # fmt: skip
    tickets = [open_ticket(w, customer=other if i % 2 else w.customer) for i in range(32)]

    def statements(chosen: list[Ticket]) -> int:
        return _chunk_statements(w, action, params, chosen)

    _as_if_committed()
    statements(tickets[:2])  # warms the caches (rules, roster, webhook subscriptions)
    # When a chunk of 2 and a chunk of 30 run, Then they cost the same statements: the
    # requesters are read once for the chunk, not once per ticket
    assert statements(tickets[2:4]) == statements(tickets[4:32]) <= 21
    assert not firings(w, outcome="fired")
