"""Bulk actions: each ticket as if changed one by one, chunked, resumable, tenant-safe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deskbase.bulk import services as bulk
from deskbase.bulk.models import BulkJob, State
from deskbase.core import events
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.outbox.models import OutboxMessage
from deskbase.tickets import services
from deskbase.tickets.models import Ticket, TicketHistory
from deskbase.tickets.selectors import TicketFilters
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, int, dict[str, Any]]]]:
    """Every ticket event announced, as (name, ticket number, changes)."""
    seen: list[tuple[str, int, dict[str, Any]]] = []
    names = [events.TICKET_UPDATED, events.TICKET_MERGED, events.TICKET_SOFT_DELETED]

    def record(event: events.Event) -> None:
        seen.append((event.name, event.instance.number, dict(event.changes)))

    for name in names:
        events.subscribe(name, "after")(record)
    yield seen
    for name in names:
        events.unsubscribe(name, record, "after")


def _history(ticket: Ticket) -> list[tuple[str, str | None, str | None, int | None]]:
    """The ticket's history rows; times (which differ between two runs) as "<time>"."""
    rows = TicketHistory.objects.filter(ticket_id=ticket.id).exclude(field="created")

    def value(field: str, text: str | None) -> str | None:
        return "<time>" if text is not None and field.endswith("_at") else text

    return [
        (h.field, value(h.field, h.old_value), value(h.field, h.new_value), h.actor_id)
        for h in rows.order_by("id")
    ]


def _start_and_run(world: Any, action: str, params: dict, tickets: list[Ticket]) -> BulkJob:
    job = bulk.bulk_start(
        organization=world.org, actor=world.agent, action=action, params=params,
        tickets=[bulk.Selected(t.number, t.version) for t in tickets],
    )  # fmt: skip
    return bulk.bulk_run(organization=world.org, job_id=job.id)


@pytest.mark.parametrize(
    ("action", "params", "one_by_one"),
    [
        ("status", {"status": "pending"},
         lambda w, t: services.ticket_change_status(organization=w.org, actor=w.agent, ticket=t,
                                                    status="pending", version=t.version)),
        ("assign", {"assignee_id": "manager"},
         lambda w, t: services.ticket_assign(organization=w.org, actor=w.agent, ticket=t,
                                             assignee=w.manager, version=t.version)),
        ("priority", {"priority": "urgent"},
         lambda w, t: services.ticket_update(organization=w.org, actor=w.agent, ticket=t,
                                             version=t.version, priority="urgent")),
        ("add_tags", {"tags": ["vip"]},
         lambda w, t: services.ticket_update(organization=w.org, actor=w.agent, ticket=t,
                                             version=t.version, tags=[*t.tags, "vip"])),
        ("trash", {"reason": "spam"},
         lambda w, t: services.ticket_soft_delete(organization=w.org, actor=w.agent, ticket=t,
                                                  reason="spam")),
    ],
)  # fmt: skip
def test_bulk_writes_the_same_history_events_and_outbox_as_one_by_one(
    tenant_a, recorded, action, params, one_by_one
):
    # Given two identical sets of three tickets
    if params.get("assignee_id") == "manager":
        params = {"assignee_id": tenant_a.manager.id}
    singles = [open_ticket(tenant_a, subject=f"single {i}", tags=["a"]) for i in range(3)]
    batch = [open_ticket(tenant_a, subject=f"bulk {i}", tags=["a"]) for i in range(3)]
    outbox_before = OutboxMessage.objects.count()
    recorded.clear()

    # When the first set is changed one by one and the second in bulk
    for ticket in singles:
        one_by_one(tenant_a, ticket)
    single_events = list(recorded)
    single_outbox = OutboxMessage.objects.count() - outbox_before
    recorded.clear()
    job = _start_and_run(tenant_a, action, params, batch)

    # Then every ticket has the same history rows, events and outbox rows
    assert (job.state, job.done, job.skipped) == ("finished", 3, [])
    for single, bulked in zip(singles, batch, strict=True):
        assert _history(bulked) == _history(single) != []

    def shape(seen):
        return [(name, changes) for name, _, changes in seen]

    assert shape(recorded) == shape(single_events)
    assert [n for _, n, _ in recorded] == [t.number for t in batch]
    assert OutboxMessage.objects.count() - outbox_before - single_outbox == single_outbox
    for single, bulked in zip(singles, batch, strict=True):
        a = Ticket.all_objects.get(pk=single.pk)
        b = Ticket.all_objects.get(pk=bulked.pk)
        fields = ("status", "priority", "assignee_id", "tags", "version", "deleted_at")
        assert [getattr(b, f) is None if f == "deleted_at" else getattr(b, f) for f in fields] == [
            getattr(a, f) is None if f == "deleted_at" else getattr(a, f) for f in fields
        ]


def test_a_ticket_changed_since_it_was_selected_is_skipped_not_overwritten(tenant_a):
    # Given two tickets selected at their versions, one of which someone then changes
    first, second = open_ticket(tenant_a), open_ticket(tenant_a)
    selection = [bulk.Selected(t.number, t.version) for t in (first, second)]
    services.ticket_update(organization=tenant_a.org, actor=tenant_a.manager, ticket=second,
                           version=second.version, priority="low")  # fmt: skip

    # When the agent sets both to urgent
    job = bulk.bulk_start(organization=tenant_a.org, actor=tenant_a.agent, action="priority",
                          params={"priority": "urgent"}, tickets=selection)  # fmt: skip
    job = bulk.bulk_run(organization=tenant_a.org, job_id=job.id)

    # Then the first is changed, the second skipped with the reason and left as it was
    assert job.done == 1
    assert [s["number"] for s in job.skipped] == [second.number]
    assert "changed by someone else" in job.skipped[0]["reason"]
    assert Ticket.objects.get(pk=first.pk).priority == "urgent"
    assert Ticket.objects.get(pk=second.pk).priority == "low"


def test_another_tenants_ticket_is_not_found_and_never_touched(tenant_a, tenant_b):
    # Given tenant A with one ticket, tenant B with three
    mine = open_ticket(tenant_a)
    theirs = [open_ticket(tenant_b) for _ in range(3)]
    target = theirs[-1]
    assert target.number not in (mine.number,)

    # When A's agent selects its ticket and a number that only exists in tenant B
    job = bulk.bulk_start(
        organization=tenant_a.org, actor=tenant_a.agent, action="status",
        params={"status": "pending"},
        tickets=[bulk.Selected(mine.number), bulk.Selected(target.number)],
    )  # fmt: skip
    job = bulk.bulk_run(organization=tenant_a.org, job_id=job.id)

    # Then A's ticket changed, the other is "not found", and B's ticket is untouched
    assert job.done == 1
    assert job.skipped == [{"number": target.number, "reason": f"no ticket #{target.number}"}]
    assert Ticket.objects.get(pk=target.pk).status == "new"
    assert Ticket.objects.get(pk=target.pk).version == target.version


def test_a_customer_cannot_start_a_bulk_action(tenant_a):
    ticket = open_ticket(tenant_a)
    with pytest.raises(PermissionDenied):
        bulk.bulk_start(organization=tenant_a.org, actor=tenant_a.customer, action="trash",
                        tickets=[bulk.Selected(ticket.number)])  # fmt: skip
    assert not BulkJob.objects.exists()


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [("status", {"status": "bogus"}, "status"), ("assign", {"assignee_id": 987654}, "assignee_id"),
     ("merge", {"into": 987654}, "into"), ("add_tags", {"tags": [" "]}, "tags"),
     ("explode", {}, "action")],
)  # fmt: skip
def test_bad_arguments_are_refused_naming_the_field_and_nothing_is_queued(
    tenant_a, action, params, field
):
    ticket = open_ticket(tenant_a)
    with pytest.raises(ValidationFailed) as refused:
        bulk.bulk_start(organization=tenant_a.org, actor=tenant_a.agent, action=action,
                        params=params, tickets=[bulk.Selected(ticket.number)])  # fmt: skip
    assert refused.value.field == field
    assert not BulkJob.objects.exists()


def test_all_matching_a_filter_is_evaluated_on_the_server_and_capped(tenant_a, monkeypatch):
    # Given three tickets tagged "outage" and one not, and a cap of two
    tagged = [open_ticket(tenant_a, tags=["outage"]) for _ in range(3)]
    open_ticket(tenant_a)
    monkeypatch.setattr(bulk, "MAX_SELECTION", 2)

    # When every ticket matching tag=outage is selected
    job = bulk.bulk_start(organization=tenant_a.org, actor=tenant_a.agent, action="add_tags",
                          params={"tags": ["p1"]}, filters=TicketFilters(tag="outage"))  # fmt: skip

    # Then the first two (by number) are taken, and the cap is stated
    assert [n for n, _ in job.selection] == [t.number for t in tagged[:2]]
    assert job.described == "the first 2 tickets matching the filter (more match)"


def test_each_chunk_commits_and_a_stopped_job_resumes_where_it_ended(tenant_a, monkeypatch):
    # Given five tickets and chunks of two
    monkeypatch.setattr(bulk, "CHUNK", 2)
    batch = [open_ticket(tenant_a) for _ in range(5)]
    job = bulk.bulk_start(
        organization=tenant_a.org, actor=tenant_a.agent, action="status",
        params={"status": "pending"}, tickets=[bulk.Selected(t.number) for t in batch],
    )  # fmt: skip

    # When one chunk runs (the process then dies)
    bulk.bulk_run_chunk(organization=tenant_a.org, job_id=job.id)

    # Then the chunk is done and recorded, the rest untouched
    job.refresh_from_db()
    assert (job.state, job.position, job.done) == ("running", 2, 2)
    statuses = [Ticket.objects.get(pk=t.pk).status for t in batch]
    assert statuses == ["pending", "pending", "new", "new", "new"]

    # When the worker picks unfinished jobs up
    assert bulk.run_pending() == {"finished": 1, "failed": 0}

    # Then it resumed from the third ticket and finished
    job.refresh_from_db()
    assert (job.state, job.position, job.done, job.skipped) == ("finished", 5, 5, [])
    assert {Ticket.objects.get(pk=t.pk).status for t in batch} == {"pending"}
    assert TicketHistory.objects.filter(ticket_id=batch[0].id, field="status").count() == 1


def test_an_unexpected_error_stops_the_job_and_is_reported_with_finished_chunks_kept(
    tenant_a, monkeypatch
):
    # Given five tickets, chunks of two, and the fourth whose change will crash
    monkeypatch.setattr(bulk, "CHUNK", 2)
    batch = [open_ticket(tenant_a) for _ in range(5)]
    doomed = batch[3].id

    def crash(event: events.Event) -> None:
        if event.instance.id == doomed:
            raise RuntimeError("disk on fire")

    events.subscribe(events.TICKET_UPDATED, "after")(crash)
    try:
        job = bulk.bulk_start(
            organization=tenant_a.org, actor=tenant_a.agent, action="status",
            params={"status": "pending"}, tickets=[bulk.Selected(t.number) for t in batch],
        )  # fmt: skip
        job = bulk.bulk_run(organization=tenant_a.org, job_id=job.id)
    finally:
        events.unsubscribe(events.TICKET_UPDATED, crash, "after")

    # Then the job is failed with the error, the first chunk committed, the second undone
    assert job.state == State.FAILED
    assert "disk on fire" in job.error
    assert (job.position, job.done) == (2, 2)
    statuses = [Ticket.objects.get(pk=t.pk).status for t in batch]
    assert statuses == ["pending", "pending", "new", "new", "new"]


def test_merge_moves_every_selected_ticket_into_the_target(tenant_a):
    target = open_ticket(tenant_a, subject="Main")
    sources = [open_ticket(tenant_a, subject=f"dup {i}") for i in range(2)]
    job = bulk.bulk_start(
        organization=tenant_a.org, actor=tenant_a.agent, action="merge",
        params={"into": target.number},
        tickets=[bulk.Selected(t.number) for t in [target, *sources]],
    )  # fmt: skip
    job = bulk.bulk_run(organization=tenant_a.org, job_id=job.id)
    assert job.done == 2
    assert [s["number"] for s in job.skipped] == [target.number]
    assert {Ticket.objects.get(pk=s.pk).merged_into_id for s in sources} == {target.id}


def test_a_job_finishes_under_row_level_security_as_the_application_role(tenant_a, app_role):
    # Given a job started and run as the server runs it: the application role, RLS on
    ticket = open_ticket(tenant_a)
    job = bulk.bulk_start(organization=tenant_a.org, actor=tenant_a.agent, action="priority",
                          params={"priority": "high"},
                          tickets=[bulk.Selected(ticket.number)])  # fmt: skip

    # When it runs to its end
    job = bulk.bulk_run(organization=tenant_a.org, job_id=job.id)

    # Then it is finished (not failed for a row it could not read back), with its time
    assert (job.state, job.done, job.error) == ("finished", 1, "")
    assert job.finished_at is not None


def test_the_skipped_count_goes_past_the_reasons_kept(tenant_a, monkeypatch):
    # Given three tickets that are already urgent, and room for one reason only
    monkeypatch.setattr(bulk, "MAX_SKIPPED_SHOWN", 1)
    batch = [open_ticket(tenant_a, priority="urgent") for _ in range(3)]

    # When they are set to urgent in bulk
    job = bulk.bulk_start(organization=tenant_a.org, actor=tenant_a.agent, action="priority",
                          params={"priority": "urgent"},
                          tickets=[bulk.Selected(t.number) for t in batch])  # fmt: skip
    job = bulk.bulk_run(organization=tenant_a.org, job_id=job.id)

    # Then all three count as skipped, one reason is kept
    assert (job.done, job.skipped_count, len(job.skipped)) == (0, 3, 1)
    assert job.skipped[0]["reason"] == "already as asked: nothing to change"
