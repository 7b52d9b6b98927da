"""Which ticket an incoming message belongs to, in layers, inside its organization.

Layers, strongest first (docs/mail.md, "Threading"):

1. In-Reply-To, then References newest first, against the Message-IDs of our own
   mail (OutboundMessage) and of the messages received before (InboundMessage);
2. the per-ticket token of a plus-address among the recipients
   (`support+1234-k3j5m2p9qa@...`);
3. a bracketed token in the subject or the body (`[#1234-k3j5m2p9qa]`);
4. last resort: the same normalized subject as an active ticket of the same
   requester, and only when the message does name earlier messages in References
   (that we do not know): a reply whose chain we never saw, never a new message
   that happens to share a subject, never another requester's ticket.

Each lookup is filtered by the organization (and row-level security holds it to
that tenant anyway) and goes by index: (organization, message_id_hash) on both
message tables, (organization, number) for tokens, (organization, customer,
created_at) for the subject. A token only counts when its MAC was made for that
ticket of that organization (deskbase.mail.tokens.is_valid).

A match says nothing yet about whether the message may join the ticket: the
sender's verification and participation are checked by deskbase.mail.ingest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from deskbase.accounts.models import User
from deskbase.mail import headers, tokens
from deskbase.mail.parse import ParsedMessage
from deskbase.tickets.models import ACTIVE_STATUSES, Ticket

# How many message ids of one message are looked up (In-Reply-To + References).
MAX_IDS = 50
# How many of the requester's most recent active tickets the subject layer compares.
SUBJECT_CANDIDATES = 20
MAX_MERGE_HOPS = 10
# Reply and forward prefixes of the usual clients and languages, repeated or not:
# "Re: AW: Fwd: [#12-abc...] Subject" -> "subject".
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|antwort|tr|rif|r|ref|odp|enc|res)"
    r"(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*)+",  # ASCII or full-width colon
    re.IGNORECASE,
)
_BRACKETS = re.compile(r"\[#?\d{1,10}-[a-z2-7]{10}\]", re.IGNORECASE)

LAYER_MESSAGE_ID = "message_id"
LAYER_PLUS_ADDRESS = "plus_address"
LAYER_TOKEN = "token"  # noqa: S105 (a layer name, not a secret)
LAYER_SUBJECT = "subject"
LAYER_WORDS = {
    LAYER_MESSAGE_ID: "matched by Message-ID",
    LAYER_PLUS_ADDRESS: "matched by the reply address",
    LAYER_TOKEN: "matched by the ticket token",
    LAYER_SUBJECT: "matched by subject",
}


@dataclass(frozen=True)
class Match:
    """The ticket a message belongs to, the layer that found it, and why, in words."""

    ticket: Ticket
    layer: str
    reason: str  # "In-Reply-To matched our reply <...>"

    @property
    def how(self) -> str:
        return LAYER_WORDS[self.layer]


def normalize_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, ticket tokens, case and extra spaces."""
    text = _BRACKETS.sub(" ", subject or "")
    previous = None
    while previous != text:  # "Re: [#1-...] AW: x": prefixes around a token
        previous = text
        text = _PREFIX.sub("", text).strip()
        text = _BRACKETS.sub(" ", text).strip()
    return " ".join(text.split()).casefold()


def find_thread(
    *, organization_id: int, msg: ParsedMessage, requester: User | None
) -> Match | None:
    """The ticket `msg` continues, by the first layer that finds one; None: a new thread."""
    match = (
        _by_message_id(organization_id, msg)
        or _by_plus_address(organization_id, msg)
        or _by_token(organization_id, msg)
        or _by_subject(organization_id, msg, requester)
    )
    return _followed(match) if match is not None else None


# ------------------------------------------------------------------ layer 1
def _thread_ids(msg: ParsedMessage) -> list[tuple[str, str]]:
    """(header, id): In-Reply-To first, then References from the newest, no repeats."""
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for header, ids in (("In-Reply-To", msg.in_reply_to), ("References", msg.references[::-1])):
        for message_id in ids:
            if message_id and message_id not in seen:
                seen.add(message_id)
                found.append((header, message_id))
    return found[:MAX_IDS]


def _by_message_id(organization_id: int, msg: ParsedMessage) -> Match | None:
    wanted = _thread_ids(msg)
    if not wanted:
        return None
    hashes = {headers.message_id_hash(mid): (header, mid) for header, mid in wanted}
    # Our replies and the earlier messages with those ids, with their live tickets, in
    # one query (a deleted ticket is not there); a later inbound row wins over an earlier.
    rows = Ticket.objects.raw(
        "SELECT t.*, x.message_id_hash AS matched_hash, x.ours AS matched_ours"
        " FROM (SELECT message_id_hash, ticket_id, true AS ours, 0::bigint AS seq"
        "       FROM mail_outboundmessage"
        "       WHERE organization_id = %s AND message_id_hash = ANY(%s)"
        "       UNION ALL"
        "       SELECT message_id_hash, ticket_id, false, id FROM mail_inboundmessage"
        "       WHERE organization_id = %s AND message_id_hash = ANY(%s)"
        "       AND ticket_id IS NOT NULL) x"
        " JOIN tickets_ticket t ON t.id = x.ticket_id AND t.organization_id = %s"
        " AND t.deleted_at IS NULL"
        " ORDER BY x.ours, x.seq",
        [organization_id, list(hashes), organization_id, list(hashes), organization_id],
    )
    ours: dict[bytes, Ticket] = {}
    theirs: dict[bytes, Ticket] = {}
    for ticket in rows:
        (ours if ticket.matched_ours else theirs)[bytes(ticket.matched_hash)] = ticket
    for digest, (header, mid) in hashes.items():  # in order: the newest reference first
        for table, what in ((ours, "our reply"), (theirs, "the earlier message")):
            ticket = table.get(digest)
            if ticket is not None:
                return Match(ticket, LAYER_MESSAGE_ID, f"{header} matched {what} <{mid}>")
    return None


# ------------------------------------------------------------------ layers 2 and 3
def _recipients(msg: ParsedMessage) -> Iterable[str]:
    for address in (*msg.to, *msg.cc):
        if address.email:
            yield address.email
    # Where the server says it delivered the message (the envelope recipient), which a
    # Bcc or a list does not show in To/Cc.
    for name in ("delivered-to", "x-original-to", "envelope-to"):
        yield from msg.headers.get(name, [])


def _by_plus_address(organization_id: int, msg: ParsedMessage) -> Match | None:
    for address in _recipients(msg):
        token = tokens.in_address(address.strip().strip("<>"))
        ticket = _ticket_of_token(organization_id, token)
        if ticket is not None:
            return Match(
                ticket, LAYER_PLUS_ADDRESS, f"it was sent to the ticket's reply address {address}"
            )
    return None


def _by_token(organization_id: int, msg: ParsedMessage) -> Match | None:
    for where, text in (("subject", msg.subject), ("body", msg.visible_text or msg.text)):
        for token in tokens.in_text(text):
            ticket = _ticket_of_token(organization_id, token)
            if ticket is not None:
                bracketed = tokens.bracketed(token)
                return Match(ticket, LAYER_TOKEN, f"the {where} carries its token {bracketed}")
    return None


def _ticket_of_token(organization_id: int, token: tokens.Token | None) -> Ticket | None:
    if token is None:
        return None
    ticket = Ticket.objects.filter(organization_id=organization_id, number=token.number).first()
    if ticket is None:
        return None
    valid = tokens.is_valid(token, organization_id=organization_id, ticket_id=ticket.id)
    return ticket if valid else None


# ------------------------------------------------------------------ layer 4
def _by_subject(organization_id: int, msg: ParsedMessage, requester: User | None) -> Match | None:
    # Conservative: a reply (it names earlier messages) from a known requester, to one of
    # their own active tickets; never a subject alone, never across requesters.
    if requester is None or not msg.references:
        return None
    subject = normalize_subject(msg.subject)
    if not subject:
        return None
    candidates = Ticket.objects.filter(
        organization_id=organization_id, customer_id=requester.id, status__in=ACTIVE_STATUSES
    ).order_by("-created_at")[:SUBJECT_CANDIDATES]
    for ticket in candidates:
        if normalize_subject(ticket.subject) == subject:
            reason = (
                f"its subject matched the requester's open ticket and References named "
                f"<{msg.references[-1]}>, a message we do not know"
            )
            return Match(ticket, LAYER_SUBJECT, reason)
    return None


# ------------------------------------------------------------------ helpers
def _live_ticket(organization_id: int, ticket_id: int | None) -> Ticket | None:
    if ticket_id is None:
        return None
    return Ticket.objects.filter(organization_id=organization_id, id=ticket_id).first()


def _followed(match: Match) -> Match:
    """A merged ticket forwards to the ticket it was merged into."""
    ticket, reason = match.ticket, match.reason
    for _ in range(MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        target = _live_ticket(ticket.organization_id, ticket.merged_into_id)
        if target is None:
            break
        reason += f"; #{ticket.number} was merged into #{target.number}"
        ticket = target
    return Match(ticket, match.layer, reason)
