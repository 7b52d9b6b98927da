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

import logging
from dataclasses import dataclass
from typing import Any

from django.db.models.functions import Now

from deskbase.accounts.models import Team, User
from deskbase.bulk.models import Action, BulkJob, State
from deskbase.core.errors import DomainError, NotFound, ValidationFailed
from deskbase.core.querylog import allow_repeats
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
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
            raise ValidationFailed.one("status", f"Unknown status {status!r}.")
        return {"status": status, "reason": str(params.get("reason") or "")[:300]}
    if action == Action.PRIORITY:
        priority = params.get("priority")
        if priority not in Priority.values:
            raise ValidationFailed.one("priority", f"Unknown priority {priority!r}.")
        return {"priority": priority}
    if action == Action.TEAM:
        raw = params.get("team_id")
        team = None if raw is None else access_row(Team, actor, int(raw), field="team_id")
        return {"team_id": team.id if team else None}
    if action in (Action.ADD_TAGS, Action.REMOVE_TAGS):
        tags = tickets._normalized_tags(params.get("tags") or [])
        if not tags:
            raise ValidationFailed.one("tags", "Name at least one tag.")
        return {"tags": tags}
    if action == Action.MERGE:
        target = access_ticket_reference(actor, params.get("into", ""), field="into")
        return {"into": target.number}
    if action == Action.TRASH:
        return {"reason": str(params.get("reason") or "")[:500]}
    raise ValidationFailed.one("action", f"Unknown action {action!r}; use {', '.join(Action)}.")


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
    ensure_staff(actor, "change tickets in bulk")
    if action not in Action.values:
        raise ValidationFailed.one("action", f"Unknown action {action!r}; use {', '.join(Action)}.")
    with tenant(organization, actor):
        stored = _params(actor, action, params or {})
        if (tickets is None) == (filters is None):
            raise ValidationFailed.one("tickets", "Send either tickets or a filter.")
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
                    "tickets", f"At most {MAX_SELECTION:,} tickets at once; use a filter."
                )
            selection = [[n, chosen[n]] for n in sorted(chosen)]
            described = f"{len(selection):,} selected ticket{'s' if len(selection) != 1 else ''}"
        if not selection:
            raise ValidationFailed.one("tickets", "No ticket is selected.")
        job = BulkJob(
            organization=organization, actor=actor, action=action, params=stored,
            selection=selection, total=len(selection), described=described,
        )  # fmt: skip
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
            raise NotFound(f"the merge target #{params['into']} is gone", field="into")
        if ticket.id == target.id:
            raise ValidationFailed.one("into", "This is the ticket the others merge into.")
        tickets.ticket_merge(organization=organization, actor=actor, source=ticket,
                             target=target)  # fmt: skip
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
            locked = {
                t.number: t
                for t in Ticket.objects.select_for_update(of=("self",))
                .filter(organization_id=organization.id, number__in=numbers)
                .order_by("id")
            }
            target = None
            if job.action == Action.MERGE:
                target = Ticket.objects.filter(
                    organization_id=organization.id, number=job.params["into"]
                ).first()
            # Each ticket through its service repeats the same statements by design.
            with allow_repeats(), holding({t.id: t for t in locked.values()}):
                done, skipped = _each(job, organization, actor, chunk, locked, target)
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
