"""Search analytics writes: the search log and which result was opened.

A search must not fail or wait because its log row could not be written: the
insert runs in a savepoint after the results are computed, and an error is
logged (deskbase.search) and swallowed. The row is one small INSERT into the
current month's partition.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.search.query import normalized

logger = logging.getLogger("deskbase.search")
OPENED_WITHIN_DAYS = 7  # a search's result may be reported opened for this long
OPENED_TYPES = ("ticket", "comment", "canned_response", "user", "attachment", "organization")


def search_log(
    *, user: User, text: str, types: list[str], result_count: int, latency_ms: float
) -> int | None:
    """Record one search; its id (for `search_opened`), or None when it could not be logged."""
    try:
        with tenant(user.organization_id, user), connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO search_searchlog
                   (organization_id, user_id, query, types, result_count, latency_ms)
                   VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
                [user.organization_id, user.id, normalized(text), ",".join(types),
                 result_count, max(latency_ms, 0.0)],
            )  # fmt: skip
            return cursor.fetchone()[0]
    except DatabaseError:
        logger.exception("search log: could not record a search of organization %s",
                         user.organization_id)  # fmt: skip
        return None


@transaction.atomic
def search_opened(*, user: User, search_id: int, opened_type: str, opened_id: int) -> None:
    """Mark which result of the caller's own recent search was opened (the last one wins).

    The result must be one the caller can see: another organization's id (or one the
    caller may not open) is a ValidationFailed on `id`, like an id that exists nowhere.
    """
    if opened_type not in OPENED_TYPES:
        raise ValidationFailed.one(
            "type", gettext("Use one of %(choices)s.") % {"choices": ", ".join(OPENED_TYPES)}
        )
    with tenant(user.organization_id, user):
        if not _visible(user, opened_type, opened_id):
            raise ValidationFailed.one(
                "id", gettext("No such %(opened_type)s here.") % {"opened_type": opened_type}
            )
    with tenant(user.organization_id, user), connection.cursor() as cursor:
        # created_at bounds the partitions read; the primary key leads with the tenant.
        cursor.execute(
            """UPDATE search_searchlog SET opened_type = %s, opened_id = %s, opened_at = now()
               WHERE organization_id = %s AND id = %s AND user_id = %s
                 AND created_at > now() - make_interval(days => %s)""",
            [opened_type, opened_id, user.organization_id, search_id, user.id,
             OPENED_WITHIN_DAYS],
        )  # fmt: skip
        if cursor.rowcount == 0:
            raise NotFound(
                gettext("no recent search %(search_id)s of yours") % {"search_id": search_id},
                field="search_id",
            )


def _visible(user: User, opened_type: str, opened_id: int) -> bool:
    """Whether `user` may open that result: the tenant's, and for customers their own."""
    from deskbase.tickets.models import (
        CannedResponse,
        CommentKind,
        Ticket,
        TicketAttachment,
        TicketComment,
    )
    from deskbase.tickets.permissions import is_staff_member

    org = user.tenant_id
    staff = is_staff_member(user)
    if opened_type == "organization":
        return opened_id == org
    if opened_type == "user":
        return (staff or opened_id == user.id) and User.objects.filter(
            organization_id=org, pk=opened_id
        ).exists()
    if opened_type == "canned_response":
        return (
            staff
            and CannedResponse.objects.filter(
                Q(owner__isnull=True) | Q(owner_id=user.id), organization_id=org, pk=opened_id
            ).exists()
        )
    documents: dict[str, type[Ticket | TicketComment | TicketAttachment]] = {
        "ticket": Ticket, "comment": TicketComment, "attachment": TicketAttachment,
    }  # fmt: skip
    model = documents[opened_type]
    rows = model.objects.filter(organization_id=org, pk=opened_id)
    if not staff:
        own = "customer_id" if model is Ticket else "ticket__customer_id"
        rows = rows.filter(**{own: user.id})
        if model is TicketComment:  # (a Q: the rows' model is one of three here)
            rows = rows.exclude(Q(kind=CommentKind.INTERNAL))
        elif model is TicketAttachment:
            rows = rows.exclude(comment__kind=CommentKind.INTERNAL)
    return rows.exists()
