"""/api/v1/bulk: bulk actions on tickets (docs/bulk.md). Staff only.

`POST /api/v1/bulk` takes an action and either `tickets` (numbers, each with the
version the caller saw: a ticket changed since is skipped, not overwritten) or a
`filter` (the ticket list's filters, evaluated on the server, capped). Up to 200
tickets run in the request (200 with the summary); more are queued for the worker
(202) and `GET /api/v1/bulk/{job_id}` tells the progress, then the summary.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import PriorityName, StatusName, Strict
from deskbase.bulk import selectors, services
from deskbase.bulk.models import BulkJob
from deskbase.savedviews.filters import filters_from
from deskbase.tickets.access import caller_organization

router = Router(tags=["bulk actions"])

ActionName = Literal[
    "assign", "status", "priority", "team", "add_tags", "remove_tags", "merge", "trash"
]


class BulkTicketIn(Strict):
    number: int = Field(..., ge=1)
    version: int | None = Field(
        None, ge=1, description="the version you saw; omit to skip the check"
    )


class BulkActionIn(Strict):
    action: ActionName
    tickets: list[BulkTicketIn] | None = Field(None, max_length=services.MAX_SELECTION)
    filter: dict[str, Any] | None = Field(
        None, description="the ticket list's filters (as a saved view's), instead of tickets"
    )
    status: StatusName | None = None
    reason: str = Field("", max_length=500)
    priority: PriorityName | None = None
    assignee_id: int | None = Field(None, description="assign: an agent's id; null unassigns")
    team_id: int | None = Field(None, description="team: a team's id; null clears it")
    tags: list[str] = Field(default_factory=list, max_length=50)
    into: int | None = Field(None, description="merge: the number of the target ticket")


class BulkSkip(Schema):
    number: int
    reason: str


class BulkJobOut(Schema):
    id: int
    action: str
    state: str
    described: str
    total: int
    position: int
    done: int
    skipped_count: int
    skipped: list[BulkSkip]
    error: str
    created_at: datetime
    finished_at: datetime | None


def _params(payload: BulkActionIn) -> dict[str, Any]:
    by_action: dict[str, dict[str, Any]] = {
        "assign": {"assignee_id": payload.assignee_id},
        "status": {"status": payload.status, "reason": payload.reason},
        "priority": {"priority": payload.priority},
        "team": {"team_id": payload.team_id},
        "add_tags": {"tags": payload.tags},
        "remove_tags": {"tags": payload.tags},
        "merge": {"into": payload.into},
        "trash": {"reason": payload.reason},
    }
    return by_action[payload.action]


@router.post("", response={200: BulkJobOut, 202: BulkJobOut, **ERRORS})
def start_bulk(request: ApiRequest, payload: BulkActionIn):
    """Apply one action to many tickets; each ticket as if changed on its own."""
    user = request.auth
    organization = caller_organization(user)
    tickets = None
    if payload.tickets is not None:
        tickets = [services.Selected(t.number, t.version) for t in payload.tickets]
    filters = None if payload.filter is None else filters_from(payload.filter, user)
    job: BulkJob = services.bulk_start(
        organization=organization, actor=user, action=payload.action, params=_params(payload),
        tickets=tickets, filters=filters,
    )  # fmt: skip
    if job.total <= services.INLINE_MAX:
        return Status(200, services.bulk_run(organization=organization, job_id=job.id))
    return Status(202, job)


@router.get("/{job_id}", response={200: BulkJobOut, **ERRORS})
def get_bulk(request: ApiRequest, job_id: int):
    """A bulk job you started: its progress, then its summary (done, skipped with reasons)."""
    return selectors.job_of(request.auth, job_id)
