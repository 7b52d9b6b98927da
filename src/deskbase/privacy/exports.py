"""Building a personal data export in the worker: a ZIP of JSON files plus the files.

Memory stays bounded whatever the person's history: tickets are read a chunk at a
time by keyset on id and written as they come into `tickets.json` (one streamed JSON
array, each ticket with its comments), then attachments and raw mail are copied
into the archive in 64 KiB pieces. Progress (`progress` of `total` tickets) is
committed after each chunk, for the page that polls it.

A worker claims an export with a session advisory lock on its id: a killed worker's
connection drops its lock, and the next run of the task takes the export up again
from the start (the half-written file is replaced).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from deskbase.accounts.models import AuditLog, User, UserSession
from deskbase.core.tenancy import tenant
from deskbase.knowledge.models import Feedback
from deskbase.mail.models import InboundMessage, Participant
from deskbase.privacy.models import DataExport, ExportState
from deskbase.tickets.attachments import path_for
from deskbase.tickets.models import (
    CommentKind,
    CsatResponse,
    Ticket,
    TicketAttachment,
    TicketComment,
)

logger = logging.getLogger(__name__)

CHUNK = 200
LOCK_SPACE = 0x70726976  # "priv": the advisory lock namespace of exports


def exports_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports"


def export_path(export: DataExport) -> Path:
    return exports_root() / f"{export.file_token}.zip"


def _dump(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


class JsonArray:
    """Writes a JSON array element by element into an open archive member."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.first = out, True
        out.write(b"[\n")

    def add(self, item: Any) -> None:
        self.out.write((b"" if self.first else b",\n") + _dump(item).encode())
        self.first = False

    def close(self) -> None:
        self.out.write(b"\n]\n")


def _fields(row: Model, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


TICKET_FIELDS = ("id", "number", "subject", "description", "status", "priority", "channel",
                 "tags", "custom_fields", "created_at", "updated_at", "resolved_at",
                 "closed_at", "satisfaction", "customer_id")  # fmt: skip
COMMENT_FIELDS = ("id", "author_id", "kind", "body_text", "created_at")
ATTACHMENT_FIELDS = ("id", "ticket_id", "comment_id", "file_name", "content_type", "size",
                     "sha256", "created_at")  # fmt: skip


# ------------------------------------------------------------------ what is included
def tickets_of(user: User) -> QuerySet[Ticket]:
    """Tickets the person asked for, or takes part in by mail (a CC)."""
    cc = Participant.objects.filter(organization_id=user.tenant_id, email=user.email)
    return Ticket.all_objects.filter(organization_id=user.tenant_id).filter(
        Q(customer_id=user.id) | Q(id__in=cc.values("ticket_id"))
    )


def attachments_of(user: User) -> QuerySet[TicketAttachment]:
    """Files on those tickets a customer may see (not an internal note's), and their own."""
    return TicketAttachment.objects.filter(organization_id=user.tenant_id).filter(
        (Q(ticket__in=tickets_of(user)) & ~Q(comment__kind=CommentKind.INTERNAL))
        | Q(uploaded_by_id=user.id)
    )


# ------------------------------------------------------------------ claiming
def claim_pending() -> list[int]:
    """Ids of exports waiting (or abandoned by a dead worker), oldest first."""
    return list(
        DataExport.objects.filter(state__in=[ExportState.QUEUED, ExportState.RUNNING])
        .order_by("id")
        .values_list("id", flat=True)[:20]
    )


def _try_lock(export_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, export_id])
        return bool(cursor.fetchone()[0])


def _unlock(export_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, export_id])


def build_pending() -> dict[str, int]:
    """Build every export waiting; one a worker already builds is left to it."""
    built = failed = 0
    for export_id in claim_pending():
        if not _try_lock(export_id):
            continue
        try:
            if build(export_id):
                built += 1
            else:
                failed += 1
        finally:
            _unlock(export_id)
    return {"built": built, "failed": failed, "expired": expire()}


# ------------------------------------------------------------------ building
def _update(export: DataExport, **fields: Any) -> None:
    with tenant(export.organization_id):
        DataExport.objects.filter(pk=export.pk).update(**fields)
    for name, value in fields.items():
        setattr(export, name, value)


def build(export_id: int) -> bool:
    """Build one export (the caller holds its lock); False when it failed."""
    export = DataExport.objects.select_related("subject").get(pk=export_id)
    if export.state not in (ExportState.QUEUED, ExportState.RUNNING):
        return True
    user = export.subject
    with tenant(export.organization_id):
        total = tickets_of(user).count()
    token = secrets.token_urlsafe(32)
    _update(export, state=ExportState.RUNNING, progress=0, total=total, error="")
    root = exports_root()
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f"{token}.part"
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            _write_all(archive, export, user)
        final = root / f"{token}.zip"
        os.replace(partial, final)
    except Exception as error:  # recorded on the row, shown to the admin
        partial.unlink(missing_ok=True)
        logger.exception("export %s failed", export_id)
        _update(export, state=ExportState.FAILED, error=f"{type(error).__name__}: {error}"[:500])
        return False
    now = timezone.now()
    with tenant(export.organization_id):
        # Only if it is still this build's: an erasure meanwhile failed it.
        done = DataExport.objects.filter(pk=export.pk, state=ExportState.RUNNING).update(
            state=ExportState.READY, progress=total, file_token=token,
            size=final.stat().st_size, finished_at=now,
            expires_at=now + timedelta(days=settings.PRIVACY_EXPORT_DAYS),
        )  # fmt: skip
    if not done:
        final.unlink(missing_ok=True)
    return True


def _member(archive: zipfile.ZipFile, name: str, write: Callable[[JsonArray], None]) -> None:
    with archive.open(name, "w", force_zip64=True) as out:
        array = JsonArray(out)
        write(array)
        array.close()


def _rows(export: DataExport, queryset: QuerySet, fields: tuple[str, ...]) -> Callable:
    def write(array: JsonArray) -> None:
        for chunk in _keyset_in_tenant(export, queryset):
            for row in chunk:
                array.add(_fields(row, fields))

    return write


def _keyset_in_tenant(export: DataExport, queryset: QuerySet) -> Iterator[list[Any]]:
    last = 0
    while True:
        with tenant(export.organization_id):
            rows = list(queryset.filter(id__gt=last).order_by("id")[:CHUNK])
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _sections(user: User) -> list[tuple[str, QuerySet, tuple[str, ...]]]:
    """(file, rows, fields) of each list beside the tickets."""
    org = user.tenant_id
    return [
        ("attachments.json", attachments_of(user), ATTACHMENT_FIELDS),
        ("csat.json", CsatResponse.objects.filter(organization_id=org, customer_id=user.id),
         ("id", "ticket_id", "rating", "comment", "created_at")),
        ("sessions.json", UserSession.objects.filter(organization_id=org, user_id=user.id),
         ("id", "address", "user_agent", "started_at", "last_seen_at", "ended_at")),
        ("audit.json", AuditLog.objects.filter(organization_id=org).filter(
            Q(subject_id=user.id) | Q(actor_id=user.id)),
         ("id", "created_at", "action", "actor_id", "subject_id", "address", "user_agent",
          "detail")),
        ("mail.json", mail_of(user),
         ("id", "received_at", "sender", "subject", "ticket_id", "state")),
        ("kb_feedback.json", Feedback.objects.filter(organization_id=org, visitor=f"u:{user.id}"),
         ("id", "article_id", "language", "helpful", "reason", "comment", "created_at")),
    ]  # fmt: skip


def mail_of(user: User) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(organization_id=user.tenant_id, sender=user.email)


def _write_all(archive: zipfile.ZipFile, export: DataExport, user: User) -> None:
    profile = _fields(user, ("id", "email", "full_name", "role", "customer_tier", "is_active",
                             "date_joined", "last_active_at", "last_login"))  # fmt: skip
    archive.writestr("profile.json", _dump(profile))
    _member(archive, "tickets.json", lambda array: _tickets(array, export, user))
    for name, rows, fields in _sections(user):
        _member(archive, name, _rows(export, rows, fields))
    for chunk in _keyset_in_tenant(export, attachments_of(user)):
        for item in chunk:
            _copy(archive, item.sha256, f"files/{item.id}-{item.file_name}")
    for chunk in _keyset_in_tenant(export, mail_of(user)):
        for message in chunk:
            _copy(archive, message.raw_sha256, f"mail/{message.id}.eml")


def _tickets(array: JsonArray, export: DataExport, user: User) -> None:
    done = 0
    for chunk in _keyset_in_tenant(export, tickets_of(user)):
        ids = [ticket.id for ticket in chunk]
        with tenant(export.organization_id):
            comments: dict[int, list[dict[str, Any]]] = {}
            rows = (
                TicketComment.objects.filter(
                    organization_id=export.organization_id, ticket_id__in=ids
                )
                .filter(Q(kind=CommentKind.PUBLIC) | Q(author_id=user.id))
                .order_by("ticket_id", "id")
            )
            for comment in rows:
                comments.setdefault(comment.ticket_id, []).append(_fields(comment, COMMENT_FIELDS))
        for ticket in chunk:
            item = _fields(ticket, TICKET_FIELDS)
            item["requested"] = ticket.customer_id == user.id
            item["comments"] = comments.get(ticket.id, [])
            array.add(item)
        done += len(chunk)
        _update(export, progress=min(done, export.total))


def _copy(archive: zipfile.ZipFile, digest: str, name: str) -> None:
    try:
        source = path_for(digest).open("rb")
    except FileNotFoundError:
        logger.warning("export: stored file %s is missing", digest)
        return
    with source, archive.open(name, "w", force_zip64=True) as out:
        shutil.copyfileobj(source, out, 64 * 1024)


# ------------------------------------------------------------------ expiry
def expire() -> int:
    """Exports past their days: the file deleted, the row kept as `expired`."""
    done = 0
    due = DataExport.objects.filter(state=ExportState.READY, expires_at__lt=timezone.now())
    for export in due.order_by("id")[:500]:
        export_path(export).unlink(missing_ok=True)
        with transaction.atomic():
            _update(export, state=ExportState.EXPIRED)
        done += 1
    return done
