"""Ticket attachments: safe names, sniffed types, content-addressed storage, two services.

The bytes of an attachment live once per content at
MEDIA_ROOT/attachments/<sha[:2]>/<sha[2:4]>/<sha>; rows in tickets_ticketattachment
point at them by sha256. Two uploads of the same bytes share one file.

Orphans: `attachment_add` writes the file before its row, inside the transaction.
When that transaction rolls back (a later error, a vetoing subscriber), a newly
written file may stay on disk with no row pointing at it. It is never deleted
here, because another transaction may meanwhile have stored the same content and
referenced it; the maintenance orphan check removes files no row references.
Half-written uploads live only under attachments/tmp and are removed on failure.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import filetype
from django.conf import settings
from django.db.models import F
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core import events
from deskbase.core.errors import Conflict, NotFound, ValidationFailed, validated
from deskbase.core.tenancy import tenant_atomic
from deskbase.organizations.models import Organization
from deskbase.tickets.access import access_attachment
from deskbase.tickets.models import Status, Ticket, TicketAttachment, TicketComment
from deskbase.tickets.permissions import ensure_can_view_ticket, is_staff_member, takes_replies

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
SNIFF_BYTES = 8192  # what filetype looks at; enough for every signature it knows
MAX_NAME_BYTES = 255  # file systems count bytes, not characters
MAX_EXTENSION_BYTES = 32
FALLBACK_NAME = "attachment"
FILE_MODE = 0o640
DIR_MODE = 0o750
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Characters Windows refuses in names; a downloaded file must be savable there too,
# and `"` would need escaping in a Content-Disposition header.
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')
# Control, format (bidi overrides such as U+202E that disguise "exe" as "txt") and
# lone surrogates (not encodable as UTF-8, PostgreSQL would refuse them).
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    path: Path


# ------------------------------------------------------------------ names and types
def sanitize_file_name(name: str) -> str:
    """A base name safe to store and to offer for download; never empty, "." or ".."."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = "".join(" " if ch.isspace() else ch for ch in unicodedata.normalize("NFC", base))
    base = "".join(ch for ch in base if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    base = _WINDOWS_RESERVED.sub("_", base)
    # Trailing dots and spaces vanish on Windows; stripping them also turns "..", "..." into "".
    base = re.sub(r" +", " ", base).strip(" ").rstrip(". ")
    base = _truncate(base)
    return base if base not in ("", ".", "..") else FALLBACK_NAME


def _truncate(name: str) -> str:
    """At most MAX_NAME_BYTES of UTF-8, cut between characters, keeping the extension."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    suffix = f".{extension}"
    if not dot or not stem or len(suffix.encode()) > MAX_EXTENSION_BYTES:
        stem, suffix = name, ""  # no real extension: just cut
    budget = MAX_NAME_BYTES - len(suffix.encode())
    # "ignore" drops a multi-byte character the byte cut split in half.
    cut = stem.encode()[:budget].decode("utf-8", "ignore").rstrip(". ")
    return (cut or FALLBACK_NAME) + suffix


def sniff_content_type(head: bytes) -> str:
    """The type the bytes show (magic numbers), never what the client declared."""
    if not head:
        return "application/octet-stream"
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if b"\x00" not in head:
        try:
            # Incremental: a multi-byte character cut at the end of the head is not an error.
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            pass
        else:
            return "text/plain"
    return "application/octet-stream"


# ------------------------------------------------------------------ storage
def attachments_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "attachments"


def path_for(sha256: str) -> Path:
    """Where the content with this digest lives; refuses anything but a sha256 hex digest."""
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return attachments_root() / sha256[:2] / sha256[2:4] / sha256


def size_limit_message(limit: int) -> str:
    if limit >= 1024 * 1024:
        size = f"{round(limit / (1024 * 1024), 1):g}"
        return gettext("The file is larger than %(size)s MB.") % {"size": size}
    if limit >= 1024:
        size = f"{round(limit / 1024, 1):g}"
        return gettext("The file is larger than %(size)s KB.") % {"size": size}
    return gettext("The file is larger than %(size)s bytes.") % {"size": limit}


def store(stream: Readable) -> StoredFile:
    """Stream to a temporary file while hashing, then move it to its content address.

    Raises ValidationFailed (field "file") for an empty upload or one larger than
    MAX_ATTACHMENT_BYTES; reading stops at the first chunk over the limit.
    """
    incoming = attachments_root() / "tmp"
    incoming.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    # Same tree as the destination, so the final os.replace is an atomic rename.
    fd, temp_name = tempfile.mkstemp(dir=incoming, prefix="upload-")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            sha256, size, head = _copy(stream, out, settings.MAX_ATTACHMENT_BYTES)
            out.flush()
            # On disk before it gets its final name: dedupe trusts an existing file.
            os.fsync(out.fileno())
        if size == 0:
            raise ValidationFailed.one("file", gettext("The file is empty."))
        target = path_for(sha256)
        _move_into_place(temp, target, size)
    finally:
        temp.unlink(missing_ok=True)  # gone already when it was moved into place
    return StoredFile(sha256=sha256, size=size, content_type=sniff_content_type(head), path=target)


def _copy(stream: Readable, out: BinaryIO, limit: int) -> tuple[str, int, bytes]:
    digest, size, head = hashlib.sha256(), 0, bytearray()
    while chunk := stream.read(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise ValidationFailed.one("file", size_limit_message(limit))
        digest.update(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        out.write(chunk)
    return digest.hexdigest(), size, bytes(head)


def _move_into_place(temp: Path, target: Path, size: int) -> None:
    try:
        if target.stat().st_size == size:
            return  # same content already stored: keep one copy
        logger.warning("attachment %s has the wrong size on disk; replacing it", target.name)
    except FileNotFoundError:
        pass
    target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    temp.chmod(FILE_MODE)
    # Atomic: readers see the old file or the complete new one. Two concurrent
    # uploads of the same bytes both land here harmlessly (identical content).
    os.replace(temp, target)


# ------------------------------------------------------------------ services


def _attachable_ticket(
    organization: Organization, actor: User, ticket: Ticket, *, mail_participant: bool = False
) -> Ticket:
    """The ticket as stored now; customers may only reach their own (ensure_can_view_ticket),
    or one they take part in by mail (deskbase.mail.Participant, checked by the mail intake)."""
    current = Ticket.objects.filter(pk=ticket.pk, organization_id=organization.id).first()
    if current is None:
        raise NotFound(gettext("no ticket #%(number)s") % {"number": ticket.number}, field="number")
    if not (mail_participant and actor.organization_id == organization.id):
        ensure_can_view_ticket(actor, current)
    if not takes_replies(current):
        raise Conflict(
            gettext("ticket #%(number)s is %(status)s; open a new ticket")
            % {"number": current.number, "status": Status(current.status).label.lower()},
            field="ticket",
        )
    return current


def _linkable_comment(
    actor: User, ticket: Ticket, comment: TicketComment | None
) -> TicketComment | None:
    """A comment of this ticket; customers may only attach to comments they wrote."""
    if comment is None:
        return None
    found = TicketComment.objects.filter(pk=comment.pk, ticket_id=ticket.id).first()
    if found is None or (not is_staff_member(actor) and found.author_id != actor.id):
        # One message for "absent" and "not yours": it reveals nothing about other comments.
        raise ValidationFailed.one("comment", gettext("No such comment on this ticket."))
    return found


@tenant_atomic
def attachment_add(
    *,
    organization: Organization,
    actor: User,
    ticket: Ticket,
    stream: Readable,
    file_name: str,
    comment: TicketComment | None = None,
    mail_participant: bool = False,
) -> TicketAttachment:
    """Attach an upload to a ticket (and optionally to one of its comments).

    The stored name is sanitized and the type sniffed from the bytes; the client's
    declared content type is not an input. See the module doc about orphaned files.
    """
    current = _attachable_ticket(organization, actor, ticket, mail_participant=mail_participant)
    linked = _linkable_comment(actor, current, comment)
    stored = store(stream)
    attachment = TicketAttachment(
        organization=organization, ticket=current, comment=linked, uploaded_by=actor,
        file_name=sanitize_file_name(file_name), content_type=stored.content_type,
        size=stored.size, sha256=stored.sha256,
    )  # fmt: skip
    validated(attachment, exclude=["organization", "ticket", "comment", "uploaded_by"])
    with events.announce(events.ATTACHMENT_ADDED, organization, actor, attachment):
        attachment.save()
        attachment.refresh_from_db(fields=["created_at"])
    return attachment


@tenant_atomic
def attachment_open(
    *, organization: Organization, actor: User, attachment_id: int
) -> tuple[TicketAttachment, BinaryIO]:
    """The attachment and its content opened for reading; the caller closes the file.

    Counts the download. Absent and not-visible look the same: NotFound
    (access.access_attachment).
    """
    if actor.organization_id != organization.id:
        raise NotFound(gettext("no such attachment"), field="attachment")
    attachment = access_attachment(actor, attachment_id)
    try:
        handle = path_for(attachment.sha256).open("rb")
    except FileNotFoundError:
        logger.error("attachment %s: content %s is missing", attachment.pk, attachment.sha256)
        raise NotFound(gettext("the attachment's content is missing"), field="attachment") from None
    try:
        # In SQL, so concurrent downloads never lose a count.
        TicketAttachment.objects.filter(pk=attachment.pk).update(
            download_count=F("download_count") + 1
        )
        attachment.refresh_from_db(fields=["download_count"])
    except BaseException:
        handle.close()
        raise
    return attachment, handle
