"""Personal data: erase a customer, ask for an export, set and run retention.

Admins only (docs/privacy.md). Each service runs in one transaction under the
organization's tenant and leaves an audit entry in it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts import audit
from deskbase.accounts.models import (
    ApiToken,
    AuditAction,
    Passkey,
    RecoveryCode,
    Role,
    TotpDevice,
    User,
    UserSession,
)
from deskbase.accounts.session_control import end_all_sessions
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant_atomic
from deskbase.organizations.models import Organization
from deskbase.privacy import redaction
from deskbase.privacy.models import (
    MAX_RETENTION_MONTHS,
    MIN_RETENTION_MONTHS,
    DataExport,
    ExportState,
    PurgedTicket,
    RetentionPolicy,
)

logger = logging.getLogger(__name__)

PURGE_CHUNK = 200


def ensure_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied(gettext("only admins handle personal data requests"))


def customer_for(*, organization: Organization, user_id: int) -> User:
    """A customer or staff member of the organization (removed ones too), else NotFound."""
    user = User.all_objects.filter(organization_id=organization.id, id=user_id).first()
    if user is None:
        raise NotFound(gettext("No such person."), field="user")
    return user


def placeholder(user_id: int) -> tuple[str, str]:
    """The stable name and address an erased person is left with."""
    return f"Erased customer {user_id}", f"erased-{user_id}@erased.invalid"


def is_erased(user: User) -> bool:
    return user.email == placeholder(user.id)[1]


# ------------------------------------------------------------------ erasure
@tenant_atomic
def customer_erase(
    *, organization: Organization, actor: User, user_id: int, confirm: str, request: Any = None
) -> dict[str, int]:
    """Anonymize a customer and redact what they wrote; their tickets' skeletons stay.

    `confirm` must be the customer's e-mail address as it is now (typed by the admin).
    """
    ensure_admin(actor)
    user = customer_for(organization=organization, user_id=user_id)
    if user.role != Role.CUSTOMER:
        raise ValidationFailed.one(
            "user",
            gettext(
                "Only customers are erased: a staff member's name stays on the work they did. "
                "Remove the staff member instead."
            ),
        )
    if is_erased(user):
        raise ValidationFailed.one("user", gettext("This customer has been erased already."))
    if (confirm or "").strip().lower() != user.email:
        raise ValidationFailed.one(
            "confirm", gettext("Type the customer's e-mail address to confirm.")
        )
    email = user.email
    counts = _erase_content(organization.id, user.id, email)
    _anonymize(organization.id, user)
    _drop_exports(organization.id, user.id)
    audit.record(
        AuditAction.CUSTOMER_ERASED, organization_id=organization.id, actor_id=actor.id,
        subject_id=user.id, request=request, **counts,
    )  # fmt: skip
    return counts


def _erase_content(org_id: int, user_id: int, email: str) -> dict[str, int]:
    tickets = [
        row[0]
        for row in redaction._fetch(
            "SELECT id FROM tickets_ticket WHERE organization_id = %s AND customer_id = %s",
            [org_id, user_id],
        )
    ]
    counts = {"tickets": redaction.redact_tickets(org_id, tickets)}
    counts["comments"] = redaction.redact_comments(org_id, "author_id = %s", [user_id])
    files = redaction.delete_attachments(org_id, "uploaded_by_id = %s", [user_id])
    raw = redaction.delete_inbound_mail(org_id, "sender = %s", [email])
    counts["attachments"], counts["mail_messages"] = len(files), len(raw)
    redaction.remove_files_after_commit(files + raw)
    counts["cc"] = redaction._execute(
        "DELETE FROM mail_participant WHERE organization_id = %s AND email = %s", [org_id, email]
    )
    counts["searches"] = redaction._execute(
        "DELETE FROM search_searchlog WHERE organization_id = %s AND user_id = %s",
        [org_id, user_id],
    )
    # Votes stay (the article's figures), no longer tied to the person; comments go.
    counts["kb_feedback"] = redaction._execute(
        "UPDATE knowledge_feedback SET visitor = 'erased:' || id, comment = ''"
        " WHERE organization_id = %s AND visitor = %s",
        [org_id, f"u:{user_id}"],
    )
    redaction._execute(
        "UPDATE knowledge_deflection SET user_id = NULL WHERE organization_id = %s"
        " AND user_id = %s",
        [org_id, user_id],
    )
    return counts


def _drop_exports(org_id: int, user_id: int) -> None:
    """Exports made before the erasure go too: built ones expire now (their files
    deleted after the commit), one being built is failed (the worker then drops it)."""
    from deskbase.privacy.exports import exports_root

    rows = DataExport.objects.filter(organization_id=org_id, subject_id=user_id)
    tokens = list(rows.filter(state=ExportState.READY).values_list("file_token", flat=True))
    rows.filter(state=ExportState.READY).update(state=ExportState.EXPIRED)
    rows.filter(state__in=[ExportState.QUEUED, ExportState.RUNNING]).update(
        state=ExportState.FAILED, error="The customer was erased."
    )
    paths = [exports_root() / f"{token}.zip" for token in tokens if token]

    def remove() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    if paths:
        transaction.on_commit(remove)


def _anonymize(org_id: int, user: User) -> None:
    end_all_sessions(organization_id=org_id, user_id=user.id)
    keys = UserSession.objects.filter(organization_id=org_id, user_id=user.id).values_list(
        "session_key", flat=True
    )
    Session.objects.filter(session_key__in=[k for k in keys if k]).delete()
    UserSession.objects.filter(organization_id=org_id, user_id=user.id).update(
        address=None, user_agent="", session_key=None
    )
    ApiToken.objects.filter(user_id=user.id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    TotpDevice.objects.filter(user_id=user.id).delete()
    Passkey.objects.filter(user_id=user.id).delete()
    RecoveryCode.objects.filter(user_id=user.id).delete()
    name, email = placeholder(user.id)
    user.full_name, user.email, user.is_active, user.skills = name, email, False, []
    user.set_unusable_password()
    user.save(update_fields=["full_name", "email", "is_active", "skills", "password"])


# ------------------------------------------------------------------ exports
@tenant_atomic
def export_request(
    *, organization: Organization, actor: User, user_id: int, request: Any = None
) -> DataExport:
    """Queue an export of everything about the person; the worker builds it."""
    ensure_admin(actor)
    user = customer_for(organization=organization, user_id=user_id)
    if DataExport.objects.filter(
        organization_id=organization.id, subject_id=user.id,
        state__in=[ExportState.QUEUED, ExportState.RUNNING],
    ).exists():  # fmt: skip
        raise ValidationFailed.one(
            "user", gettext("An export of this person is being built already.")
        )
    export = DataExport.objects.create(
        organization_id=organization.id, subject_id=user.id, requested_by_id=actor.id
    )
    audit.record(
        AuditAction.DATA_EXPORT_REQUESTED, organization_id=organization.id, actor_id=actor.id,
        subject_id=user.id, request=request, export_id=export.id,
    )  # fmt: skip
    return export


@tenant_atomic
def export_downloaded(
    *, organization: Organization, actor: User, export: DataExport, request: Any = None
) -> None:
    audit.record(
        AuditAction.DATA_EXPORT_DOWNLOADED, organization_id=organization.id, actor_id=actor.id,
        subject_id=export.subject_id, request=request, export_id=export.id,
    )  # fmt: skip


# ------------------------------------------------------------------ retention
@tenant_atomic
def retention_set(
    *, organization: Organization, actor: User, closed_ticket_months: int | None,
    request: Any = None,
) -> RetentionPolicy:  # fmt: skip
    """Set (or with None turn off) purging closed tickets N months after closing."""
    ensure_admin(actor)
    months = closed_ticket_months
    if months is not None and not MIN_RETENTION_MONTHS <= months <= MAX_RETENTION_MONTHS:
        raise ValidationFailed.one(
            "closed_ticket_months",
            gettext("Months are between %(least)s and %(most)s, or empty.")
            % {
                "least": MIN_RETENTION_MONTHS,
                "most": MAX_RETENTION_MONTHS,
            },
        )
    policy, _ = RetentionPolicy.objects.get_or_create(organization_id=organization.id)
    before = policy.closed_ticket_months
    policy.closed_ticket_months = months
    policy.updated_at = timezone.now()
    policy.save(update_fields=["closed_ticket_months", "updated_at"])
    if before != months:
        audit.record(
            AuditAction.RETENTION_CHANGED, organization_id=organization.id, actor_id=actor.id,
            request=request, closed_ticket_months=[before, months],
        )  # fmt: skip
    return policy


def retention_months(organization_id: int) -> int | None:
    policy = RetentionPolicy.objects.filter(organization_id=organization_id).first()
    return policy.closed_ticket_months if policy else None


def purge_candidates_sql() -> str:
    return (
        "SELECT t.id FROM tickets_ticket t WHERE t.organization_id = %s"
        " AND t.status = 'closed' AND t.closed_at < %s AND NOT EXISTS ("
        " SELECT 1 FROM privacy_purgedticket p WHERE p.organization_id = t.organization_id"
        " AND p.ticket_id = t.id) ORDER BY t.id"
    )


@tenant_atomic
def purge_chunk(*, organization: Organization, cutoff: datetime, limit: int) -> int:
    """Purge up to `limit` closed tickets closed before `cutoff`; how many were purged.

    Each chunk is one transaction: a worker that dies leaves whole chunks done, and
    the next run goes on from the tickets not yet marked in privacy_purgedticket.
    """
    org_id = organization.id
    ids = [
        row[0]
        for row in redaction._fetch(purge_candidates_sql() + " LIMIT %s", [org_id, cutoff, limit])
    ]
    if not ids:
        return 0
    redaction.redact_tickets(org_id, ids)
    redaction.redact_comments(org_id, "ticket_id = ANY(%s)", [ids])
    files = redaction.delete_attachments(org_id, "ticket_id = ANY(%s)", [ids])
    raw = redaction.delete_inbound_mail(org_id, "ticket_id = ANY(%s)", [ids])
    redaction.remove_files_after_commit(files + raw)
    redaction._execute(
        "DELETE FROM mail_participant WHERE organization_id = %s AND ticket_id = ANY(%s)",
        [org_id, ids],
    )
    PurgedTicket.objects.bulk_create(
        [PurgedTicket(organization_id=org_id, ticket_id=ticket_id) for ticket_id in ids]
    )
    return len(ids)


def purge_count(*, organization: Organization, cutoff: datetime) -> int:
    """How many tickets a purge with this cutoff would take (for --dry-run)."""
    from deskbase.core.tenancy import tenant

    with tenant(organization), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM ({purge_candidates_sql()}) c",  # noqa: S608
            [organization.id, cutoff],
        )
        return int(cursor.fetchone()[0])


@tenant_atomic
def purge_audited(*, organization: Organization, purged: int, cutoff: datetime) -> None:
    audit.record(
        AuditAction.RETENTION_PURGED, organization_id=organization.id, tickets=purged,
        closed_before=cutoff.isoformat(),
    )  # fmt: skip
