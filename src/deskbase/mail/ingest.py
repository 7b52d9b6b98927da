"""The inbound pipeline: one raw message in, one InboundMessage row out (docs/mail.md).

`receive(mailbox=, raw=, source=)` keeps the raw bytes in the attachment store,
parses and classifies the message, records it exactly once per (organization,
mailbox, Message-ID hash), finds its ticket (deskbase.mail.threading), checks the
sender, and then opens a ticket, adds a reply, keeps it without action, drops it,
or puts it in review with its cause. Every outcome carries its decision, a
sentence people read in the timeline and the review queue.

Exactly once. The row and everything the message caused (ticket, comment, files,
participants, a bounced message marked failed) are written in one transaction,
which takes a transaction-scoped advisory lock on (organization, Message-ID hash)
first. A second delivery of the same message, at the same time from another
process or later after a crash before the server was told, waits for that lock,
then finds the row and returns it: one row, one ticket. The caller acts on the
server (IMAP flag, SMTP 250) only after `receive` returned, so a crash at any
point loses nothing: before the commit the message is fetched again, after it the
row answers the repeat. The raw file is written before the transaction; a file
left by a rolled-back attempt is the same content the repeat stores again.

Failures. A message that cannot be acted on (an error of a service, a bug) rolls
back to a savepoint and is recorded in review, cause "failed", with the error:
nothing is lost, and `reprocess` (accepting it from review) tries again.
"""

from __future__ import annotations

import functools
import hashlib
import html as html_lib
import io
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts import services as people
from deskbase.accounts.models import Role, User
from deskbase.core import events
from deskbase.core.errors import Conflict, ValidationFailed
from deskbase.core.sanitize import clean_html
from deskbase.core.tenancy import actor_was_set, rolled_back_whole, tenant
from deskbase.mail import authresults, classify, headers, parse, threading
from deskbase.mail.models import (
    InboundMessage,
    InboundState,
    Kind,
    Mailbox,
    OutboundMessage,
    OutboundState,
    Participant,
    ReviewCause,
    Source,
)
from deskbase.organizations.models import Organization
from deskbase.tickets import attachments
from deskbase.tickets import services as tickets
from deskbase.tickets.models import Channel, CommentKind, Ticket, TicketComment
from deskbase.tickets.permissions import takes_replies

logger = logging.getLogger(__name__)

NO_SUBJECT = "(no subject)"
EMPTY_BODY = "(no text)"
SUBJECT_LENGTH = 300
_PARTICIPANT_EMAIL_MAX = 254
# src="cid:..." as the mail sanitizer writes it (nh3 always quotes with ").
_CID_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")cid:([^"]*)"', re.IGNORECASE)


@dataclass
class Outcome:
    """What the pipeline decided for one message, before it is written on its row."""

    state: str
    decision: str
    ticket: Ticket | None = None
    comment: TicketComment | None = None
    cause: str = ""
    notes: list[str] = field(default_factory=list)  # files not stored, and why

    @property
    def sentence(self) -> str:
        return " ".join([self.decision, *self.notes])


# ------------------------------------------------------------------ entry points
def receive(
    *,
    mailbox: Mailbox,
    raw: bytes,
    source: str,
    imap_uidvalidity: int | None = None,
    imap_uid: int | None = None,
    size: int | None = None,
) -> InboundMessage:
    """Record and act on one raw message; commits; returns its row (the same on a repeat).

    `size`: the message's real size when `raw` is only part of it (IMAP fetching reads
    just the header of a message over MAIL_MAX_MESSAGE_BYTES: deskbase.mail.oversize);
    the row records that size, and a message over the limit waits in review.
    """
    raw = bytes(raw)
    if not raw:
        raise ValidationFailed.one("raw", gettext("An empty message cannot be received."))
    if size is not None and size < len(raw):
        raise ValidationFailed.one("size", gettext("The size is smaller than the bytes given."))
    if source not in Source.values:
        raise ValidationFailed.one(
            "source", gettext("Unknown source %(source)r.") % {"source": source}
        )
    if imap_uid is not None and imap_uidvalidity is None:
        raise ValidationFailed.one("imap_uid", gettext("An IMAP UID needs its UIDVALIDITY."))
    sha256 = store_raw(raw)
    parsed = parse.parse(raw, max_part_bytes=settings.MAX_ATTACHMENT_BYTES)
    message_id = parsed.message_id  # never empty: parse generates one from the bytes
    digest = headers.message_id_hash(message_id)
    organization_id = mailbox.organization_id
    with tenant(organization_id):
        lock_message(organization_id, digest)
        known = Known.read(organization_id, digest, sender_of(parsed), act_as_sender=True)
        earlier: list[InboundMessage] = []
        if known.seen_before:
            # This message as any mailbox of the organization received it before.
            earlier = list(
                InboundMessage.objects.filter(
                    organization_id=organization_id, message_id_hash=digest
                )
                .select_related("ticket")
                .order_by("id")[:20]
            )
        for existing in earlier:
            if existing.mailbox_id == mailbox.id:
                return existing  # delivered again: already recorded, already acted on
        # Inserted with its outcome by `record` (one statement, not an insert and an update).
        inbound = InboundMessage(
            organization_id=organization_id, mailbox=mailbox, message_id=message_id[:998],
            message_id_hash=digest, raw_sha256=sha256, size=size or len(raw), source=source,
            imap_uidvalidity=imap_uidvalidity, imap_uid=imap_uid,
            sender=sender_of(parsed), subject=subject_of(parsed)[:SUBJECT_LENGTH],
            state=InboundState.REVIEW, review_cause=ReviewCause.FAILED,
            decision="Being processed.",
        )  # fmt: skip
        _act(inbound, mailbox, parsed, vouched=False, earlier=earlier, known=known)
    return inbound


@dataclass
class Known:
    """What the pipeline needs to know from the database about a new message, read at once.

    One statement instead of five: whether the organization received this Message-ID
    before, whether it is one we sent (a loop), the organization's support addresses,
    the sender's account, and how many messages the sender sent in the last hour (the
    cap). A new message is mostly these lookups; each is by index.
    """

    seen_before: bool
    ours: bool
    own: set[str]
    user: User | None
    sender_recent: int

    @classmethod
    def read(
        cls, organization_id: int, digest: bytes, sender: str, *, exclude: int | None = None,
        act_as_sender: bool = False,
    ) -> Known:  # fmt: skip
        """`exclude`: a message already recorded (reprocessed), not counted in its own cap.

        `act_as_sender`: the same statement makes the sender's account (none for an
        unknown sender) the transaction's actor, so the services that act on the message
        for the sender (ticket_create, comment_add) set nothing more."""
        since = timezone.now() - timedelta(hours=1)
        with connection.cursor() as cursor:
            cursor.execute(
                _known_sql(act_as_sender),
                {
                    "org": organization_id, "digest": digest, "sender": sender,
                    "since": since, "cap": settings.MAIL_SENDER_HOURLY_LIMIT,
                    "uncounted": [InboundState.DROPPED, InboundState.DISCARDED],
                    "exclude": exclude,
                },
            )  # fmt: skip
            seen, ours, own, recent, *user_row = cursor.fetchone()
        if act_as_sender:
            user_row = user_row[1:]  # the set_config's result
        user = None
        names = [f.attname for f in User._meta.concrete_fields]
        if sender and user_row[names.index("id")] is not None:
            user = User.from_db(connection.alias, names, user_row)
        if act_as_sender:
            actor_was_set(organization_id, user)
        return cls(seen, ours, set(own), user, recent)

    @classmethod
    def of(cls, inbound: InboundMessage) -> Known:
        """The same, for a message already recorded (review: reprocess, assign)."""
        return cls.read(
            inbound.organization_id, bytes(inbound.message_id_hash), inbound.sender,
            exclude=inbound.pk,
        )  # fmt: skip


@functools.cache
def _known_sql(act_as_sender: bool) -> str:
    user_columns = ", ".join(f'u."{f.column}"' for f in User._meta.concrete_fields)
    if act_as_sender:  # for the one row: the sender's id, '' without an account
        user_columns = "set_config('deskbase.actor_id', coalesce(u.id::text, ''), true), " + (
            user_columns
        )
    return (
        "SELECT"  # noqa: S608 (the column names are the model's own)
        " EXISTS (SELECT 1 FROM mail_inboundmessage WHERE organization_id = %(org)s"
        "         AND message_id_hash = %(digest)s),"
        " EXISTS (SELECT 1 FROM mail_outboundmessage WHERE organization_id = %(org)s"
        "         AND message_id_hash = %(digest)s),"
        " ARRAY(SELECT lower(address) FROM mail_mailbox WHERE organization_id = %(org)s"
        "       AND deleted_at IS NULL),"
        " (SELECT count(*) FROM (SELECT 1 FROM mail_inboundmessage"
        "   WHERE organization_id = %(org)s AND sender = %(sender)s"
        "   AND received_at >= %(since)s AND state <> ALL(%(uncounted)s)"
        "   AND id IS DISTINCT FROM %(exclude)s"
        "   LIMIT %(cap)s) recent), "
        f"{user_columns}"
        " FROM (SELECT 1) one LEFT JOIN accounts_user u"
        " ON u.organization_id = %(org)s AND u.email = %(sender)s"
    )


def reprocess(
    inbound: InboundMessage, *, vouched: bool = False, actor: User | None = None
) -> InboundMessage:
    """Run a message in review through the pipeline again, from its kept raw bytes.

    `vouched`: staff accepted it from review (deskbase.mail.review.review_accept),
    which overrides the cause that held it: the caps, an unverified or
    non-participating sender (then added as a participant), the size limit.
    """
    raw = read_raw(inbound.raw_sha256)
    parsed = parse.parse(raw, max_part_bytes=settings.MAX_ATTACHMENT_BYTES)
    with tenant(inbound.organization_id, actor):
        current = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if current.state != InboundState.REVIEW:
            raise Conflict(
                gettext("this message is no longer in review (%(state)s)")
                % {"state": current.state},
                field="state",
            )
        mailbox = Mailbox.all_objects.get(pk=current.mailbox_id)
        _act(current, mailbox, parsed, vouched=vouched, actor=actor, known=Known.of(current))
    return current


def _act(
    inbound: InboundMessage,
    mailbox: Mailbox,
    parsed: parse.ParsedMessage,
    *,
    vouched: bool,
    actor: User | None = None,
    known: Known,
    earlier: list[InboundMessage] | None = None,
) -> None:
    """Decide, write what follows, and record the outcome on the row (one transaction).

    A new message's row is written by `record`, with its outcome; a step that needs
    the row earlier (a bounce names it) saves it first (`Pipeline.saved_inbound`).
    """
    new = inbound._state.adding
    try:
        # Every error leaves this block (the one caught inside, a new customer's
        # account, is caught around a savepoint of its own): the services called
        # for the message need no savepoints of their own.
        with rolled_back_whole():
            pipeline = Pipeline(inbound, mailbox, parsed, vouched=vouched, known=known)
            pipeline.earlier = earlier
            outcome = pipeline.run()
    except Exception as error:  # nothing is lost: it waits in review
        logger.exception("mail %s (%s) could not be processed", inbound.pk, inbound.message_id)
        if new:  # a row saved inside the rolled back savepoint is gone with it
            inbound.pk = None
            inbound._state.adding = True
        outcome = Outcome(
            InboundState.REVIEW,
            f"In review: processing failed ({type(error).__name__}: {error}).",
            cause=ReviewCause.FAILED,
        )
    with events.announce(
        events.MAIL_RECEIVED, Organization(id=inbound.organization_id), actor, inbound
    ):
        record(inbound, outcome)


def record(inbound: InboundMessage, outcome: Outcome) -> None:
    """Write the outcome on the message's row (inside the caller's transaction)."""
    inbound.state = outcome.state
    inbound.ticket = outcome.ticket
    inbound.comment = outcome.comment
    inbound.decision = outcome.sentence
    inbound.review_cause = outcome.cause if outcome.state == InboundState.REVIEW else ""
    now = timezone.now()
    inbound.review_expires_at = (
        now + timedelta(days=settings.MAIL_REVIEW_DAYS)
        if outcome.state == InboundState.REVIEW
        else None
    )
    inbound.processed_at = now
    if inbound._state.adding:
        inbound.save(force_insert=True)
        return
    inbound.save(
        update_fields=["state", "ticket", "comment", "decision", "review_cause",
                       "review_expires_at", "processed_at", "kind"]
    )  # fmt: skip


# ------------------------------------------------------------------ the pipeline
class Pipeline:
    """The decisions for one message, in order; `run` returns the Outcome."""

    def __init__(
        self,
        inbound: InboundMessage,
        mailbox: Mailbox,
        parsed: parse.ParsedMessage,
        *,
        vouched: bool,
        known: Known,
    ) -> None:
        self.inbound = inbound
        self.mailbox = mailbox
        self.msg = parsed
        self.vouched = vouched
        self.organization_id = inbound.organization_id
        self.organization = mailbox.organization
        self.sender = inbound.sender
        self.known = known
        self.own = known.own
        # The same message received before by another mailbox; None: not looked up yet.
        self.earlier: list[InboundMessage] | None = None

    # -------------------------------------------------------------- order
    def run(self) -> Outcome:
        limit = settings.MAIL_MAX_MESSAGE_BYTES
        if self.inbound.size > limit and not self.vouched:
            partly = self.inbound.size > self.msg.size
            return _review(
                ReviewCause.TOO_LARGE,
                f"In review: the message is {size_text(self.inbound.size)}, over the "
                f"{size_text(limit)} limit"
                + ("; only part of it was read, the message is still on the mail server."
                   if partly else "."),
            )  # fmt: skip
        twin = self._twin()
        if twin is not None:
            return twin
        found = classify.classify(
            self.msg,
            own_domains=sorted(self._own_domains()),
            loop_values=[self.organization.slug],
        )
        if found.kind == "normal" and self._is_our_own_message():
            found = classify.Classification("loop", "its Message-ID is one of the messages we sent")
        kind = str(found.kind) if found.kind in Kind.values else str(Kind.NORMAL)
        self.inbound.kind = kind
        if kind == Kind.LOOP:
            why = found.reason.removeprefix("dropped: ").rstrip(".")
            return Outcome(InboundState.DROPPED, f"Dropped as a mail loop: {why}.")
        if kind == Kind.BOUNCE:
            return self._bounce(found.original_message_id, found.reason)
        if not self.sender:
            return _review(
                ReviewCause.UNPARSEABLE,
                "In review: no sender address could be read from From"
                + (f" ({'; '.join(self.msg.defects[:3])})." if self.msg.defects else "."),
            )
        if self._is_own_address(self.sender):
            self.inbound.kind = Kind.LOOP
            return Outcome(
                InboundState.DROPPED,
                f"Dropped as a mail loop: it comes from our own address {self.sender}.",
            )
        user = self.known.user
        requester = user if user is not None and user.role == Role.CUSTOMER else None
        match = threading.find_thread(
            organization_id=self.organization_id, msg=self.msg, requester=requester
        )
        if kind in (Kind.AUTO_REPLY, Kind.BULK):
            return self._kept(found.reason, match)
        if not self.vouched and self._over_sender_cap():
            return _review(
                ReviewCause.RATE_LIMITED,
                f"In review: {self.sender} sent more than {settings.MAIL_SENDER_HOURLY_LIMIT} "
                "messages in the last hour.",
            )
        verdict = authresults.sender_verified(self.msg, authserv_id=self.mailbox.authserv_id)
        if user is not None and (not user.is_active or user.deleted_at is not None):
            return _review(
                ReviewCause.UNKNOWN_SENDER,
                f"In review: the account of {self.sender} is deactivated.",
            )
        if user is not None and user.role != Role.CUSTOMER:
            return self._from_staff(user, match, verdict)
        return self._from_customer(user, match, verdict)

    def saved_inbound(self) -> InboundMessage:
        """The message's row, inserted now if `record` has not written it yet."""
        if self.inbound._state.adding:
            self.inbound.save(force_insert=True)
        return self.inbound

    # -------------------------------------------------------------- kinds
    def _twin(self) -> Outcome | None:
        """The same message sent to two support addresses of the organization: acted on once."""
        if self.earlier is None:
            self.earlier = list(
                InboundMessage.objects.filter(
                    organization_id=self.organization_id,
                    message_id_hash=self.inbound.message_id_hash,
                )
                .exclude(pk=self.inbound.pk)
                .select_related("ticket")
                .order_by("id")[:1]
            )
        twin = next((m for m in self.earlier if m.pk != self.inbound.pk), None)
        if twin is None:
            return None
        address = Mailbox.all_objects.filter(pk=twin.mailbox_id).values_list("address", flat=True)
        where = f" and is on #{twin.ticket.number}" if twin.ticket else ""
        return Outcome(
            InboundState.STORED,
            f"Kept without action: the same message already came in through "
            f"{address.first()}{where}.",
            ticket=twin.ticket,
        )

    def _bounce(self, original: str | None, reason: str) -> Outcome:
        """A delivery report: attached to the message it answers, which failed."""
        report = self.msg.report
        candidates = [original] if original else []
        if report is not None and report.original_message_id:
            candidates.append(report.original_message_id)
        candidates += [*self.msg.in_reply_to, *self.msg.references[::-1]]
        outbound = None
        for message_id in candidates:
            outbound = (
                OutboundMessage.objects.select_for_update()
                .filter(
                    organization_id=self.organization_id,
                    message_id_hash=headers.message_id_hash(message_id),
                )
                .first()
            )
            if outbound is not None:
                break
        if outbound is None:
            named = f" <{candidates[0]}>" if candidates else ""
            return Outcome(
                InboundState.STORED,
                f"Kept without action: a delivery report ({reason}) about a message we did "
                f"not send{named}.",
            )
        ticket = Ticket.objects.filter(pk=outbound.ticket_id).first()
        failures = [r for r in (report.recipients if report else []) if r.action == "failed"]
        delayed_only = report is not None and report.recipients and not failures
        what = f"our message <{outbound.message_id}>"
        if delayed_only:
            return Outcome(
                InboundState.STORED,
                f"Kept on #{ticket.number if ticket else '?'}: delivery of {what} is delayed.",
                ticket=ticket,
            )
        detail = (
            "; ".join(f"{r.recipient}: {r.status} {r.diagnostic}".strip() for r in failures)
            or reason
        )
        outbound.state = OutboundState.FAILED
        outbound.error = f"Bounced: {detail}"[:2000]
        outbound.bounce = self.saved_inbound()
        outbound.save(update_fields=["state", "error", "bounce"])
        number = f"#{ticket.number}" if ticket else "its ticket"
        return Outcome(
            InboundState.STORED,
            f"Attached to {number}: a delivery failure for {what}, now marked failed ({detail}).",
            ticket=ticket,
        )

    def _kept(self, reason: str, match: threading.Match | None) -> Outcome:
        """Auto-replies and bulk mail: kept, linked to their ticket, never acted on."""
        if match is None:
            return Outcome(
                InboundState.STORED, f"Kept without action: {reason}; no ticket matched."
            )
        return Outcome(
            InboundState.STORED,
            f"Kept on #{match.ticket.number} without action ({reason}): linked because "
            f"{match.reason}; it adds no reply and does not reopen the ticket.",
            ticket=match.ticket,
        )

    def _from_staff(
        self, user: User, match: threading.Match | None, verdict: authresults.Verdict
    ) -> Outcome:
        if verdict.verified is not True and not self.vouched:
            return _review(
                ReviewCause.UNVERIFIED_SENDER,
                f"In review: {self.sender} is staff of this organization but the message is "
                f"not verified ({verdict.reason}), so it cannot act as an agent.",
            )
        if match is None:
            return _review(
                ReviewCause.UNKNOWN_SENDER,
                f"In review: {self.sender} is staff; staff cannot open a ticket by mail (no "
                "earlier message, token or subject matched). Assign it to a ticket or discard it.",
            )
        if not takes_replies(match.ticket):
            return _review(
                ReviewCause.UNKNOWN_SENDER,
                f"In review: agent {self.sender} answered #{match.ticket.number}, which is "
                f"{match.ticket.status} ({match.how}).",
            )
        outcome = self._reply(match.ticket, user, agent=True)
        outcome.decision = (
            f"Added to #{match.ticket.number} as a reply by agent {self.sender} because "
            f"{match.reason}."
        )
        return outcome

    def _from_customer(
        self, user: User | None, match: threading.Match | None, verdict: authresults.Verdict
    ) -> Outcome:
        if match is None:
            return self._open(user, "no earlier message, token or subject matched")
        ticket = match.ticket
        if not takes_replies(ticket):
            return self._open(
                user, f"#{ticket.number} matched ({match.reason}) but is {ticket.status}, "
                f"so this follow-up starts a new ticket",
                follows=ticket,
            )  # fmt: skip
        if verdict.verified is False and not self.vouched:
            return _review(
                ReviewCause.UNVERIFIED_SENDER,
                f"In review: sender {self.sender} failed verification ({verdict.reason}) and "
                f"the message names #{ticket.number} ({match.how}).",
                ticket=ticket,
            )
        participant = self._is_participant(ticket, user)
        if not participant and not self.vouched:
            return _review(
                ReviewCause.NOT_PARTICIPANT,
                f"In review: sender {self.sender} is not a participant of #{ticket.number} "
                f"({match.how}).",
                ticket=ticket,
            )
        if not self.vouched and self._over_ticket_cap(ticket):
            return _review(
                ReviewCause.RATE_LIMITED,
                f"In review: #{ticket.number} received more than "
                f"{settings.MAIL_TICKET_HOURLY_LIMIT} messages in the last hour.",
                ticket=ticket,
            )
        author = user or self._new_customer()
        if not participant:
            self._add_participants(ticket, [(self.sender, self._sender_name())])
        outcome = self._reply(ticket, author, agent=False)
        outcome.decision = f"Added to #{ticket.number} because {match.reason}."
        return outcome

    # -------------------------------------------------------------- writes
    def assign_to(self, ticket: Ticket) -> Outcome:
        """Staff put the message on `ticket`: the sender's reply there (review_assign)."""
        user = self.known.user
        if user is not None and user.role != Role.CUSTOMER:
            return self._reply(ticket, user, agent=True)
        author = user or self._new_customer()
        if not self._is_participant(ticket, author):
            self._add_participants(ticket, [(self.sender, self._sender_name())])
        return self._reply(ticket, author, agent=False)

    def _open(self, user: User | None, why: str, *, follows: Ticket | None = None) -> Outcome:
        customer = user or self._new_customer()
        body, is_html = self._body(full=True)
        ticket = tickets.ticket_create(
            organization=self.organization, actor=customer, subject=self._ticket_subject(),
            description=body, description_is_html=is_html, channel=Channel.EMAIL,
        )  # fmt: skip
        self._add_participants(ticket, self._copied())
        notes, images = self._files(ticket, customer, comment=None)
        if is_html and images:
            ticket.description_html = clean_html(self._with_images(body, images))
            Ticket.objects.filter(pk=ticket.pk).update(description_html=ticket.description_html)
        return Outcome(
            InboundState.TICKET, f"Opened #{ticket.number}: {why}.", ticket=ticket, notes=notes
        )

    def _reply(self, ticket: Ticket, author: User, *, agent: bool) -> Outcome:
        body, is_html = self._body(full=False)
        comment = tickets.comment_add(
            organization=self.organization, actor=author, ticket=ticket, body=body,
            kind=CommentKind.PUBLIC, body_is_html=is_html, mail_participant=not agent,
        )  # fmt: skip
        if not agent:
            self._add_participants(ticket, self._copied())
        notes, images = self._files(ticket, author, comment=comment, participant=not agent)
        if is_html and images:
            comment.body_html = clean_html(self._with_images(body, images))
            TicketComment.objects.filter(pk=comment.pk).update(body_html=comment.body_html)
        return Outcome(InboundState.REPLY, "", ticket=ticket, comment=comment, notes=notes)

    def _new_customer(self) -> User:
        """The sender as a customer of the organization (created without a password)."""
        try:
            with transaction.atomic():
                return people.user_create(
                    organization=self.organization, actor=None, email=self.sender,
                    role=Role.CUSTOMER, full_name=self._sender_name(),
                )  # fmt: skip
        except ValidationFailed:
            # Another message from the same new sender made them first, or the address
            # is not one an account can have (the error then propagates to review).
            user = _user_by_email(self.organization_id, self.sender)
            if user is None:
                raise
            return user

    def _add_participants(self, ticket: Ticket, people_: list[tuple[str, str]]) -> None:
        wanted = [
            (email, name) for email, name in people_
            if not self._is_own_address(email) and _valid_email(email)
        ]  # fmt: skip
        if not wanted:
            return
        requester = (
            User.objects.filter(pk=ticket.customer_id).values_list("email", flat=True).first()
        )
        rows = [
            Participant(organization_id=self.organization_id, ticket=ticket, email=email,
                        name=name[:200])
            for email, name in wanted
            if email != requester
        ]  # fmt: skip
        if rows:
            Participant.objects.bulk_create(rows, ignore_conflicts=True)

    def _files(
        self,
        ticket: Ticket,
        uploader: User,
        *,
        comment: TicketComment | None,
        participant: bool = False,
    ) -> tuple[list[str], dict[str, int]]:
        """Attachments and inline images through the attachment service.

        Returns notes for the files not stored, and the stored images by Content-ID
        (what the body's cid: URLs name).
        """
        notes: list[str] = []
        images: dict[str, int] = {}
        limit = settings.MAX_ATTACHMENT_BYTES
        for part in self.msg.parts:
            if part.size > limit or (not part.payload and part.size > 0):
                notes.append(
                    f"{part.filename} ({size_text(part.size)}) was not stored: over the "
                    f"{size_text(limit)} limit for files."
                )
                continue
            if not part.payload:
                continue
            stored = attachments.attachment_add(
                organization=self.organization, actor=uploader, ticket=ticket,
                stream=io.BytesIO(part.payload), file_name=part.filename, comment=comment,
                mail_participant=participant,
            )  # fmt: skip
            if part.content_id and stored.content_type.startswith("image/"):
                images.setdefault(part.content_id, stored.id)
        return notes, images

    @staticmethod
    def _with_images(html: str, images: dict[str, int]) -> str:
        """The mail's HTML with each cid: image pointing at its stored attachment's
        download URL (authenticated; core.sanitize keeps exactly those images). A cid:
        naming no stored image stays, and the ticket's sanitizer drops it."""

        def point(match: re.Match[str]) -> str:
            attachment_id = images.get(unquote(html_lib.unescape(match.group(2))))
            if attachment_id is None:
                return match.group(0)
            return f'{match.group(1)}{reverse("web:download", args=[attachment_id])}"'

        return _CID_SRC.sub(point, html)

    # -------------------------------------------------------------- checks
    def _is_participant(self, ticket: Ticket, user: User | None) -> bool:
        if user is not None and ticket.customer_id == user.id:
            return True
        return Participant.objects.filter(
            organization_id=self.organization_id, ticket_id=ticket.id, email=self.sender
        ).exists()

    def _over_sender_cap(self) -> bool:
        return self.known.sender_recent >= settings.MAIL_SENDER_HOURLY_LIMIT

    def _over_ticket_cap(self, ticket: Ticket) -> bool:
        limit = settings.MAIL_TICKET_HOURLY_LIMIT
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM mail_inboundmessage"
                " WHERE organization_id = %s AND ticket_id = %s AND received_at >= %s"
                " AND id IS DISTINCT FROM %s LIMIT %s) recent",
                [self.organization_id, ticket.id, timezone.now() - timedelta(hours=1),
                 self.inbound.pk, limit],
            )  # fmt: skip
            return cursor.fetchone()[0] >= limit

    def _is_our_own_message(self) -> bool:
        return self.known.ours

    def _own_domains(self) -> set[str]:
        """Where our own Message-IDs live (not the mailboxes' domains: customers share those)."""
        return {headers.own_message_id_domain(address) for address in self.own}

    def _is_own_address(self, email: str) -> bool:
        local, _, domain = email.lower().rpartition("@")
        return f"{local.split('+', 1)[0]}@{domain}" in self.own

    # -------------------------------------------------------------- the message
    def _sender_name(self) -> str:
        return ((self.msg.from_.name if self.msg.from_ else "") or "").strip()[:200]

    def _copied(self) -> list[tuple[str, str]]:
        """To and Cc besides the sender and our own addresses: the ticket's participants."""
        found: dict[str, str] = {}
        for address in (*self.msg.to, *self.msg.cc):
            email = (address.email or "").strip().lower()
            if email and email != self.sender and email not in found:
                found[email] = (address.name or "").strip()
        return list(found.items())

    def _ticket_subject(self) -> str:
        subject = threading._BRACKETS.sub("", self.msg.subject or "")
        subject = " ".join(subject.split())[:SUBJECT_LENGTH]
        return subject or NO_SUBJECT

    def _body(self, *, full: bool) -> tuple[str, bool]:
        """(body, is_html): the sanitized HTML when nothing was cut, else the visible text.

        A new ticket keeps the whole message (a forward is all content); a reply keeps
        the part above the quoted history. The full message stays reachable through
        the InboundMessage and its raw bytes.
        """
        msg = self.msg
        text = msg.text or ""
        visible = text if full else (msg.visible_text or text)
        if msg.html and (full or visible.strip() == text.strip()):
            return msg.html, True
        return (visible if visible.strip() else EMPTY_BODY), False


def _review(cause: str, decision: str, *, ticket: Ticket | None = None) -> Outcome:
    return Outcome(InboundState.REVIEW, decision, ticket=ticket, cause=cause)


# ------------------------------------------------------------------ helpers
def lock_message(organization_id: int, digest: bytes) -> None:
    """Serialize every receiver of the same message in this organization until commit."""
    key = int.from_bytes(
        hashlib.sha256(organization_id.to_bytes(8, "big") + digest).digest()[:8],
        "big",
        signed=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def sender_of(parsed: parse.ParsedMessage) -> str:
    email = (parsed.from_.email if parsed.from_ else "") or ""
    email = email.strip().lower()
    return email if _valid_email(email) else ""


def _valid_email(email: str) -> bool:
    local, at, domain = email.rpartition("@")
    return (
        bool(at and local and domain)
        and len(email) <= _PARTICIPANT_EMAIL_MAX
        and not any(ch.isspace() or ch in "<>@" for ch in local + domain)
        and email == email.lower()
    )


def subject_of(parsed: parse.ParsedMessage) -> str:
    return " ".join((parsed.subject or "").split())


def _user_by_email(organization_id: int, email: str) -> User | None:
    return User.all_objects.filter(organization_id=organization_id, email=email).first()


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


# ------------------------------------------------------------------ the raw message
def store_raw(raw: bytes) -> str:
    """Keep the raw message in the attachment store by its sha256 (idempotent); the digest.

    Not through attachments.store: a message may be larger than the attachment cap,
    and it must be kept whole so it can be processed again.
    """
    sha256 = hashlib.sha256(raw).hexdigest()
    target = attachments.path_for(sha256)
    try:
        if target.stat().st_size == len(raw):
            return sha256
    except FileNotFoundError:
        pass
    incoming = attachments.attachments_root() / "tmp"
    incoming.mkdir(mode=attachments.DIR_MODE, parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=incoming, prefix="mail-")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        target.parent.mkdir(mode=attachments.DIR_MODE, parents=True, exist_ok=True)
        temp.chmod(attachments.FILE_MODE)
        os.replace(temp, target)
        _fsync_directory(target.parent)  # the rename itself survives a crash
    finally:
        temp.unlink(missing_ok=True)
    return sha256


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_raw(sha256: str) -> bytes:
    """The kept raw bytes of a message."""
    return attachments.path_for(sha256).read_bytes()
