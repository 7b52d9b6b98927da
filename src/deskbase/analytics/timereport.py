"""Logged time per agent, customer or company over a range of days.

Each grouping is one aggregate query over tickets_timeentry's index by day
(`tickets_time_by_day`, organization_id + worked_on, covering user, ticket,
minutes, billable), joined to what names the group.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.models import TimeEntry

GROUPS = {
    # by: (group id, name columns)
    "agent": ("user_id", ("user__full_name", "user__email")),
    "customer": ("ticket__customer_id", ("ticket__customer__full_name", "ticket__customer__email")),
    "company": ("company_id", ("company_name",)),
}
MAX_DAYS = 366


def time_report(
    *, organization: Organization, actor: User, by: str, since: date, until: date,
    limit: int = 50,
) -> list[dict[str, Any]]:  # fmt: skip
    """[{id, name, minutes, billable_minutes, entries}] for days since..until
    (inclusive), most time first. Budget: 1 query."""
    if actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(gettext("only admins and managers see time reports"))
    if by not in GROUPS:
        raise ValidationFailed.one(
            "by", gettext("Group by one of %(choices)s.") % {"choices": ", ".join(GROUPS)}
        )
    if until < since:
        raise ValidationFailed.one("until", gettext("The range ends before it starts."))
    if until - since > timedelta(days=MAX_DAYS):
        raise ValidationFailed.one(
            "until", gettext("At most %(max_days)s days at a time.") % {"max_days": MAX_DAYS}
        )
    key, names = GROUPS[by]
    rows = TimeEntry.objects.filter(organization=organization, worked_on__gte=since,
                                    worked_on__lte=until)  # fmt: skip
    if by == "company":
        rows = (
            rows.filter(ticket__customer__isnull=False)
            .annotate(
                company_id=F("ticket__customer__company_memberships__company_id"),
                company_name=F("ticket__customer__company_memberships__company__name"),
            )
            .filter(company_id__isnull=False)
        )
    grouped = (
        rows.values(key, *names)
        .annotate(total=Sum("minutes"), billable_total=Sum("minutes", filter=Q(billable=True)),
                  entries=Count("id"))
        .order_by("-total", key)[: max(1, min(limit, 500))]
    )  # fmt: skip
    with tenant(organization, actor, savepoint=False):
        found = list(grouped)
    return [
        {
            "id": row[key],
            "name": next((row[n] for n in names if row[n]), ""),
            "minutes": row["total"],
            "billable_minutes": row["billable_total"] or 0,
            "entries": row["entries"],
        }
        for row in found
    ]
