"""Reading the audit log: admins browse and filter their organization's entries.

Newest first, a keyset page at a time on (created_at, id), which the index
accounts_auditlog_by_time serves; the people named are read in one more query.
Query budget: 2 per page, whatever its size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext

from deskbase.accounts.models import AuditAction, AuditLog, Role, User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant

PAGE = 50
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class Filters:
    action: str = ""
    person: int | None = None  # as actor or subject
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        if self.action and self.action not in AuditAction.values:
            raise ValidationFailed.one("action", gettext("Unknown action."))
        if self.since and self.until and self.since > self.until:
            raise ValidationFailed.one("since", gettext("The start comes after the end."))


def _ensure_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied(gettext("only admins may read the audit log"))


def _query(actor: User, filters: Filters) -> Any:
    filters.check()
    rows = AuditLog.objects.filter(organization_id=actor.tenant_id)
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.person:
        rows = rows.filter(Q(actor_id=filters.person) | Q(subject_id=filters.person))
    if filters.since:
        rows = rows.filter(created_at__gte=filters.since)
    if filters.until:
        rows = rows.filter(created_at__lt=filters.until)
    return rows.order_by("-created_at", "-id")


def _names(organization_id: int, entries: list[AuditLog]) -> dict[int, str]:
    ids = {i for e in entries for i in (e.actor_id, e.subject_id) if i}
    if not ids:
        return {}
    people = User.all_objects.filter(organization_id=organization_id, id__in=ids)
    return dict(people.values_list("id", "email"))


def audit_page(
    *, actor: User, filters: Filters, before: tuple[datetime, int] | None = None, limit: int = PAGE
) -> tuple[list[AuditLog], dict[int, str], tuple[datetime, int] | None]:
    """One page of entries, the emails of the people they name, and the next page's key."""
    _ensure_admin(actor)
    with tenant(actor.tenant_id, savepoint=False):
        rows = _query(actor, filters)
        if before is not None:
            at, entry_id = before
            rows = rows.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=entry_id))
        entries = list(rows[: limit + 1])
        names = _names(actor.tenant_id, entries[:limit])
    more = entries[limit] if len(entries) > limit else None
    entries = entries[:limit]
    return entries, names, ((entries[-1].created_at, entries[-1].id) if more else None)


def audit_export(*, actor: User, filters: Filters) -> Iterator[list[str]]:
    """Rows for a CSV export (header first), newest first, at most EXPORT_LIMIT entries."""
    _ensure_admin(actor)
    yield ["when", "action", "actor", "subject", "address", "user_agent", "detail"]
    import json

    with tenant(actor.tenant_id, savepoint=False):
        entries = list(_query(actor, filters)[:EXPORT_LIMIT])
        names = _names(actor.tenant_id, entries)
    for e in entries:
        yield [
            e.created_at.isoformat(), e.action, names.get(e.actor_id or 0, str(e.actor_id or "")),
            names.get(e.subject_id or 0, str(e.subject_id or "")), e.address or "",
            e.user_agent, json.dumps(e.detail, sort_keys=True, ensure_ascii=False),
        ]  # fmt: skip
