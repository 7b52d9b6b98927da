"""Bulk actions on tickets: every ticket through its own service, a chunk per transaction.

`bulk_start` checks the action and its arguments once, takes the selection (the
tickets the agent ticked, each at the version they saw, or every ticket matching a
filter, evaluated here on the server and capped) and stores it as a `BulkJob`.
`bulk_run_chunk` then works through the next `CHUNK` tickets in one transaction:

- it locks the chunk's tickets in id order (tickets/locks.py's order), then
- for each ticket calls the very service a single edit calls (`ticket_change_status`,
  `ticket_assign`, `ticket_update`, `ticket_merge`, `ticket_soft_delete`), so history
  rows, SLA, rules, webhooks and the search index see exactly what they see one by
  one; each service runs in its own savepoint, so a refused ticket is skipped with
  its reason and the others stand;
- a ticket changed since it was selected (another version) is skipped, never
  overwritten; one that is missing, deleted, or another tenant's is "not found";
- the job's position, counts and skip reasons are saved in the same transaction: a
  crash loses at most the chunk in progress, and running the job again resumes.

Small selections run in the request (`INLINE_MAX`); larger ones in the worker
(`deskbase.run_bulk_jobs`, deskbase.jobs), a chunk per transaction, while the page
polls the job's progress.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import Team, User
from deskbase.bulk.models import Action, BulkJob, State
from deskbase.core import events
from deskbase.core.errors import DomainError, NotFound, ValidationFailed
from deskbase.core.querylog import allow_repeats
from deskbase.core.tenancy import tenant
from deskbase.core.updates import model_update
from deskbase.organizations.models import Organization
from deskbase.outbox.services import batched as outbox_batched
from deskbase.sla import services as sla
from deskbase.tickets import routing
from deskbase.tickets import services as tickets
from deskbase.tickets.access import access_row, access_ticket_reference
from deskbase.tickets.locks import holding
from deskbase.tickets.models import Priority, Status, Ticket
from deskbase.tickets.permissions import can_view_ticket, ensure_staff
from deskbase.tickets.selectors import TicketFilters, _filter_q

logger = logging.getLogger(__name__)

CHUNK = 200  # tickets per transaction
INLINE_MAX = 200  # a selection up to this size runs in the request
MAX_SELECTION = 10_000  # "all matching" takes at most this many (stated to the agent)
MAX_SKIPPED_SHOWN = 1_000


@dataclass(frozen=True)
class Selected:
    number: int
    version: int | None = None


# ------------------------------------------------------------------ start
def _params(actor: User, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The action's arguments, checked once, as stored on the job (ids and numbers)."""
    if action == Action.ASSIGN:
        raw = params.get("assignee_id")
        if raw is None:
            return {"assignee_id": None}
        agent = access_row(User, actor, int(raw), field="assignee_id", staff=True)
        return {"assignee_id": agent.id}
    if action == Action.STATUS:
        status = params.get("status")
        if status not in Status.values:
            raise ValidationFailed.one(
                "status", gettext("Unknown status %(status)r.") % {"status": status}
            )
        return {"status": status, "reason": str(params.get("reason") or "")[:300]}
    if action == Action.PRIORITY:
        priority = params.get("priority")
        if priority not in Priority.values:
            raise ValidationFailed.one(
                "priority", gettext("Unknown priority %(priority)r.") % {"priority": priority}
            )
        return {"priority": priority}
    if action == Action.TEAM:
        raw = params.get("team_id")
        team = None if raw is None else access_row(Team, actor, int(raw), field="team_id")
        return {"team_id": team.id if team else None}
    if action in (Action.ADD_TAGS, Action.REMOVE_TAGS):
        tags = tickets._normalized_tags(params.get("tags") or [])
        if not tags:
            raise ValidationFailed.one("tags", gettext("Name at least one tag."))
        return {"tags": tags}
    if action == Action.MERGE:
        target = access_ticket_reference(actor, params.get("into", ""), field="into")
        return {"into": target.number}
    if action == Action.TRASH:
        return {"reason": str(params.get("reason") or "")[:500]}
    raise ValidationFailed.one(
        "action",
        gettext("Unknown action %(action)r; use %(choices)s.")
        % {"action": action, "choices": ", ".join(Action)},
    )


def _matching(
    organization: Organization, actor: User, filters: TicketFilters
) -> tuple[list[list[int | None]], bool]:
    """Every ticket matching the filters now, (number, version), capped; and whether capped."""
    found = (
        Ticket.objects.filter(organization_id=organization.id)
        .filter(_filter_q(filters, actor))
        .order_by("number")
        .values_list("number", "version")[: MAX_SELECTION + 1]
    )
    rows: list[list[int | None]] = [[number, version] for number, version in found]
    return rows[:MAX_SELECTION], len(rows) > MAX_SELECTION


def bulk_start(
    *,
    organization: Organization,
    actor: User,
    action: str,
    params: dict[str, Any] | None = None,
    tickets: list[Selected] | None = None,
    filters: TicketFilters | None = None,
) -> BulkJob:
    """Check the action and record the selection as a queued job (run it next)."""
    ensure_staff(actor, gettext("change tickets in bulk"))
    if action not in Action.values:
        raise ValidationFailed.one(
            "action",
            gettext("Unknown action %(action)r; use %(choices)s.")
            % {"action": action, "choices": ", ".join(Action)},
        )
    with tenant(organization, actor):
        stored = _params(actor, action, params or {})
        if (tickets is None) == (filters is None):
            raise ValidationFailed.one("tickets", gettext("Send either tickets or a filter."))
        if filters is not None:
            selection, capped = _matching(organization, actor, filters)
            described = (
                f"the first {MAX_SELECTION:,} tickets matching the filter (more match)"
                if capped
                else f"all {len(selection):,} tickets matching the filter"
            )
        else:
            chosen: dict[int, int | None] = {}
            for item in tickets or []:
                chosen[int(item.number)] = item.version
            if len(chosen) > MAX_SELECTION:
                raise ValidationFailed.one(
                    "tickets",
                    gettext("At most %(max_selection)s tickets at once; use a filter.")
                    % {"max_selection": f"{MAX_SELECTION:,}"},
                )
            selection = [[n, chosen[n]] for n in sorted(chosen)]
            described = f"{len(selection):,} selected ticket{'s' if len(selection) != 1 else ''}"
        if not selection:
            raise ValidationFailed.one("tickets", gettext("No ticket is selected."))
        job = BulkJob(
            organization=organization,
            actor=actor,
            action=action,
            params=stored,
            selection=selection,
            total=len(selection),
            described=described,
        )
        job.save()
    return job


# ------------------------------------------------------------------ run
def _skip_reason(
    actor: User, ticket: Ticket | None, number: int, version: int | None
) -> str | None:
    if ticket is None or not can_view_ticket(actor, ticket):
        return f"no ticket #{number}"
    if version is not None and ticket.version != version:
        return (
            f"changed by someone else since it was selected (version {version}, "
            f"now {ticket.version}): left as it is"
        )
    return None


def _apply(job: BulkJob, organization: Organization, actor: User, ticket: Ticket,
           target: Ticket | None) -> bool:  # fmt: skip
    """One ticket through its service; False when it already was as asked."""
    params, action = job.params, job.action
    common: dict[str, Any] = {"organization": organization, "actor": actor, "ticket": ticket}
    if action == Action.ASSIGN:
        if ticket.assignee_id == params["assignee_id"]:
            return False
        assignee = None
        if params["assignee_id"] is not None:
            assignee = access_row(User, actor, params["assignee_id"], field="assignee_id",
                                  staff=True)  # fmt: skip
        tickets.ticket_assign(**common, assignee=assignee, version=ticket.version)
    elif action == Action.STATUS:
        if ticket.status == params["status"]:
            return False
        tickets.ticket_change_status(**common, status=params["status"], version=ticket.version,
                                     reason=params["reason"])  # fmt: skip
    elif action == Action.PRIORITY:
        if ticket.priority == params["priority"]:
            return False
        tickets.ticket_update(**common, version=ticket.version, priority=params["priority"])
    elif action == Action.TEAM:
        if ticket.team_id == params["team_id"]:
            return False
        team = None
        if params["team_id"] is not None:
            team = access_row(Team, actor, params["team_id"], field="team_id")
        tickets.ticket_update(**common, version=ticket.version, team=team)
    elif action in (Action.ADD_TAGS, Action.REMOVE_TAGS):
        wanted = set(params["tags"])
        if action == Action.ADD_TAGS:
            tags = [*ticket.tags, *(t for t in params["tags"] if t not in ticket.tags)]
        else:
            tags = [t for t in ticket.tags if t not in wanted]
        if tags == list(ticket.tags):
            return False
        tickets.ticket_update(**common, version=ticket.version, tags=tags)
    elif action == Action.MERGE:
        if target is None:
            raise NotFound(
                gettext("the merge target #%(into)s is gone") % {"into": params["into"]},
                field="into",
            )
        if ticket.id == target.id:
            raise ValidationFailed.one("into", gettext("This is the ticket the others merge into."))
        tickets.ticket_merge(organization=organization, actor=actor, source=ticket, target=target)
    elif action == Action.TRASH:
        tickets.ticket_soft_delete(**common, reason=params["reason"])
    return True


def _each(
    job: BulkJob, organization: Organization, actor: User, chunk: list[list[Any]],
    locked: dict[int, Ticket], target: Ticket | None,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """Apply the job's action to each ticket of the chunk; (done, skipped with reasons)."""
    done, skipped = 0, []
    for number, version in chunk:
        ticket = locked.get(number)
        reason = _skip_reason(actor, ticket, number, version)
        if reason is None and ticket is not None:
            try:
                changed = _apply(job, organization, actor, ticket, target)
            except DomainError as error:
                reason = error.message
            else:
                if changed:
                    done += 1
                else:
                    reason = "already as asked: nothing to change"
        if reason is not None:
            skipped.append({"number": number, "reason": reason})
    return done, skipped


# ------------------------------------------------------------------ set-based
# The actions whose every ticket is one UPDATE of its own row: a chunk of them is one
# UPDATE ... FROM unnest(...) instead of a service call per ticket (docs/bulk.md).
SET_BASED = frozenset(
    {Action.ASSIGN, Action.STATUS, Action.PRIORITY, Action.TEAM, Action.ADD_TAGS,
     Action.REMOVE_TAGS}
)  # fmt: skip
# The ticket columns a set-based action may write, and the array type each is sent as.
_COLUMNS: dict[str, str] = {
    "status": "text[]",
    "priority": "text[]",
    "assignee": "bigint[]",
    "team": "bigint[]",
    "tags": "jsonb[]",
    "resolved_at": "timestamptz[]",
    "closed_at": "timestamptz[]",
    "sla_paused_at": "timestamptz[]",
    "sla_breach": "boolean[]",
    "sla_policy": "bigint[]",
    "first_response_due_at": "timestamptz[]",
    "resolution_due_at": "timestamptz[]",
}
# What each action's own functions read of a ticket's relations: joined to the lock.
_RELATED: dict[str, tuple[str, ...]] = {
    Action.STATUS: ("sla_policy",),
    Action.TEAM: ("team",),
    Action.PRIORITY: ("customer",),
}


def _changed_fields(ticket: Ticket, before: dict[str, Any]) -> set[str]:
    return {name for name, old in before.items() if _value(ticket, name) != old}


def _field(name: str) -> Field[Any, Any]:
    field = Ticket._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _value(ticket: Ticket, name: str) -> Any:
    return getattr(ticket, _field(name).attname)


def _plan_one(
    job: BulkJob, organization: Organization, actor: User, ticket: Ticket, team: Team | None,
    now: datetime,
) -> dict[str, tuple[Any, Any]] | None:  # fmt: skip
    """What the ticket's service would change, set on the instance in memory (its SLA
    events kept by sla.batched); None when it already is as asked. A refusal raises the
    service's own DomainError."""
    params, action = job.params, job.action
    if action == Action.ASSIGN:
        if ticket.assignee_id == params["assignee_id"]:
            return None
        change: dict[str, tuple[Any, Any]] = {
            "assignee": (ticket.assignee_id, params["assignee_id"])
        }
        ticket.assignee_id = params["assignee_id"]
        return change
    if action == Action.STATUS:
        status = params["status"]
        if ticket.status == status:
            return None
        tickets._check_transition(ticket, status)
        change = {"status": (ticket.status, status)}
        tickets._apply_status(ticket, status, reason=params["reason"], at=now)
        return change
    data: dict[str, Any]
    if action == Action.PRIORITY:
        data = {"priority": params["priority"]}
    elif action == Action.TEAM:
        data = {"team": team}
    else:
        wanted = set(params["tags"])
        if action == Action.ADD_TAGS:
            tags = [*ticket.tags, *(t for t in params["tags"] if t not in ticket.tags)]
        else:
            tags = [t for t in ticket.tags if t not in wanted]
        data = {"tags": tickets._normalized_tags(tags)}
    update = model_update(ticket, fields=tickets.EDITABLE_FIELDS, data=data)
    if not update:
        return None
    if "priority" in update.changes:
        sla.sla_recompute(ticket, reason="priority changed", at=now)
    return update.changes


def _chunk_arguments(job: BulkJob, organization: Organization, actor: User) -> Team | None:
    """Check once per chunk what each ticket's service checks again for every ticket:
    the actor may edit tickets, the assignee can take them, the team is this tenant's."""
    ensure_staff(
        actor, gettext("assign tickets") if job.action == Action.ASSIGN else gettext("edit tickets")
    )
    if job.action == Action.ASSIGN and job.params["assignee_id"] is not None:
        agent = access_row(User, actor, job.params["assignee_id"], field="assignee_id",
                           staff=True)  # fmt: skip
        routing.check_assignable(organization=organization, agent=agent)
    if job.action == Action.TEAM and job.params["team_id"] is not None:
        return access_row(Team, actor, job.params["team_id"], field="team_id")
    return None


def _update_sql(columns: list[str]) -> str:
    assignments = []
    for name in columns:
        column = _field(name).column
        if name == "tags":
            value = "ARRAY(SELECT jsonb_array_elements_text(v.tags))::varchar(50)[]"
        else:
            value = f"v.{column}"
        assignments.append(f"{column} = {value}")
    names = ", ".join(str(_field(n).column) for n in columns)
    arrays = ", ".join(f"%s::{_COLUMNS[n]}" for n in columns)
    return (
        # Column names and types from the model and _COLUMNS; every value a parameter.
        f"UPDATE tickets_ticket t SET {', '.join(assignments)}, version = t.version + 1"  # noqa: S608
        f" FROM unnest(%s::bigint[], {arrays}) AS v(id, {names})"
        " WHERE t.organization_id = %s AND t.id = v.id"
        " RETURNING t.id, t.version, t.updated_at"
    )


def _array_value(ticket: Ticket, name: str) -> Any:
    value = _value(ticket, name)
    return json.dumps(list(value)) if name == "tags" else value


def _set_based(
    job: BulkJob, organization: Organization, actor: User, chunk: list[list[Any]],
    locked: dict[int, Ticket],
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """The chunk's action as each ticket's service does it, in set statements: the
    checks and the new values per ticket in Python (the services' own functions), then
    one UPDATE for the chunk (the history trigger still writes each ticket's rows), one
    INSERT of the SLA events, and each ticket's `ticket.updated` event."""
    skipped: list[dict[str, Any]] = []
    try:
        team = _chunk_arguments(job, organization, actor)
    except DomainError as error:
        return 0, [{"number": number, "reason": error.message} for number, _ in chunk]
    now = timezone.now()
    planned: list[tuple[Ticket, dict[str, tuple[Any, Any]]]] = []
    written_fields: set[str] = set()
    candidates = [t for t in locked.values() if can_view_ticket(actor, t)]
    with sla.batched(candidates, pauses=job.action == Action.PRIORITY):
        for number, version in chunk:
            ticket = locked.get(number)
            reason = _skip_reason(actor, ticket, number, version)
            if reason is None and ticket is not None:
                before = {name: _value(ticket, name) for name in _COLUMNS}
                try:
                    change = _plan_one(job, organization, actor, ticket, team, now)
                except DomainError as error:
                    reason = error.message
                else:
                    if change is None:
                        reason = "already as asked: nothing to change"
                    else:
                        planned.append((ticket, change))
                        written_fields |= _changed_fields(ticket, before)
            if reason is not None:
                skipped.append({"number": number, "reason": reason})
    announced = [
        events.event(events.TICKET_UPDATED, organization, actor, ticket, **change)
        for ticket, change in planned
    ]
    # Every column any ticket of the chunk changes; the others' rows get their own
    # (locked) value back, which the history trigger does not record (not distinct).
    columns = sorted(written_fields, key=list(_COLUMNS).index)
    # The events carry the tickets as written (version, updated_at), as one by one; the
    # outbox rows they make (webhooks, mail) are written in one INSERT.
    with outbox_batched(), events.announce_each(announced):
        if planned:
            params: list[Any] = [[t.id for t, _ in planned]]
            params += [[_array_value(t, name) for t, _ in planned] for name in columns]
            with connection.cursor() as cursor:
                cursor.execute(_update_sql(columns), [*params, organization.id])
                written = {row[0]: row[1:] for row in cursor.fetchall()}
            for ticket, _ in planned:
                ticket.version, ticket.updated_at = written[ticket.id]
    return len(planned), skipped


def _run(
    job: BulkJob, organization: Organization, actor: User, chunk: list[list[Any]],
    locked: dict[int, Ticket], target: Ticket | None,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """The chunk set-based when the action allows it; one by one otherwise, or when an
    event subscriber refuses a ticket (the set-based attempt is rolled back first)."""
    if job.action in SET_BASED:
        try:
            with transaction.atomic():
                return _set_based(job, organization, actor, chunk, dict(locked))
        except DomainError:
            logger.info("bulk job %s: a ticket was refused by a subscriber; one by one", job.id)
            # The rolled-back attempt changed the locked instances in memory: read again.
            locked = {
                t.number: t
                for t in Ticket.objects.select_for_update(of=("self",))
                .filter(organization_id=organization.id, number__in=list(locked))
                .order_by("id")
            }
    # Each ticket through its service repeats the same statements by design.
    with allow_repeats(), holding({t.id: t for t in locked.values()}):
        return _each(job, organization, actor, chunk, locked, target)


def bulk_run_chunk(*, organization: Organization, job_id: int) -> BulkJob:
    """The job's next chunk, in one transaction with the job's new position. Returns the job."""
    with tenant(organization):
        job = (
            BulkJob.objects.select_for_update(of=("self",))
            .select_related("actor")
            .get(pk=job_id, organization_id=organization.id)
        )
        if job.finished:
            return job
        actor = job.actor
        with tenant(organization, actor):
            chunk = job.selection[job.position : job.position + CHUNK]
            numbers = [number for number, _ in chunk]
            # One lock statement for the chunk, in id order: no deadlock with another bulk run.
            chosen = Ticket.objects.select_for_update(of=("self",))
            if _RELATED.get(job.action):
                chosen = chosen.select_related(*_RELATED[job.action])
            locked = {
                t.number: t
                for t in chosen.filter(
                    organization_id=organization.id, number__in=numbers
                ).order_by("id")
            }
            target = None
            if job.action == Action.MERGE:
                target = Ticket.objects.filter(
                    organization_id=organization.id, number=job.params["into"]
                ).first()
            done, skipped = _run(job, organization, actor, chunk, locked, target)
            job.position += len(chunk)
            job.done += done
            if len(job.skipped) < MAX_SKIPPED_SHOWN:
                job.skipped = [*job.skipped, *skipped][:MAX_SKIPPED_SHOWN]
            job.state = State.FINISHED if job.position >= job.total else State.RUNNING
            fields = ["position", "done", "skipped", "state"]
            if job.state == State.FINISHED:
                job.finished_at = Now()
                fields.append("finished_at")
            job.save(update_fields=fields)
            if job.state == State.FINISHED:  # read back while the tenant is set (RLS)
                job.refresh_from_db(fields=["finished_at"])
    return job


def _fail(organization: Organization, job_id: int, error: Exception) -> None:
    with tenant(organization):
        BulkJob.objects.filter(pk=job_id).update(
            state=State.FAILED, finished_at=Now(), error=f"{type(error).__name__}: {error}"[:2000]
        )


def bulk_run(*, organization: Organization, job_id: int) -> BulkJob:
    """Run the job to its end, a chunk per transaction. An unexpected error stops it and
    is recorded on the job (state failed, with the error); its finished chunks stay
    committed, and the summary says how far it got."""
    while True:
        try:
            job = bulk_run_chunk(organization=organization, job_id=job_id)
        except Exception as error:
            logger.exception("bulk job %s stopped", job_id)
            _fail(organization, job_id, error)
            with tenant(organization):
                return BulkJob.objects.get(pk=job_id)
        if job.finished:
            return job


def run_pending() -> dict[str, int]:
    """The worker's task: every queued or unfinished job of every organization, oldest
    first (a job left half done by a crash resumes where its last chunk ended)."""
    pending = list(
        BulkJob.objects.filter(state__in=[State.QUEUED, State.RUNNING])
        .order_by("id")
        .values_list("id", "organization_id")
    )
    finished = failed = 0
    for job_id, org_id in pending:
        job = bulk_run(organization=Organization(id=org_id), job_id=job_id)
        if job.state == State.FINISHED:
            finished += 1
        else:
            failed += 1
    return {"finished": finished, "failed": failed}
