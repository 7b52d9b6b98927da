"""The agent queues, each a set of filters over the selectors' ticket list."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from deskbase.tickets.models import ACTIVE_STATUSES
from deskbase.tickets.selectors import TicketFilters

ACTIVE = tuple(str(s) for s in ACTIVE_STATUSES)


@dataclass(frozen=True)
class Queue:
    slug: str
    title: str | Promise  # lazily translated: shown in the reader's language
    filters: TicketFilters
    sort: str = "updated"


QUEUES: dict[str, Queue] = {
    q.slug: q
    for q in (
        Queue("mine", _("My open tickets"), TicketFilters(status=ACTIVE, assignee="me")),
        Queue("unassigned", _("Unassigned"), TicketFilters(status=ACTIVE, assignee="unassigned")),
        Queue("team", _("My team"), TicketFilters(status=ACTIVE)),
        Queue("open", _("All open"), TicketFilters(status=ACTIVE)),
        Queue("at_risk", _("SLA at risk"), TicketFilters(sla="at_risk"), sort="sla_due"),
        Queue("breached", _("SLA breached"), TicketFilters(status=ACTIVE, sla="breached")),
        Queue("recent", _("Recently updated"), TicketFilters()),
    )
}
TRASH = "trash"


def filters_for(
    queue: Queue, *, team_id: int | None, status: str | None, priority: str | None,
    tag: str | None,
) -> TicketFilters:  # fmt: skip
    """The queue's filters narrowed by the page's choices (a status replaces the queue's)."""
    filters = queue.filters
    if queue.slug == "team":
        filters = replace(filters, team_id=team_id if team_id is not None else 0)
    if status:
        filters = replace(filters, status=(status,))
    if priority:
        filters = replace(filters, priority=(priority,))
    if tag:
        filters = replace(filters, tag=tag)
    return filters
