"""What kind of message this is, before anything acts on it (docs/mail-parsing.md).

Loops are dropped, bounces are matched to the outbound message they answer, and
automatic or bulk mail is stored but never answered automatically and never reopens a
ticket. Each verdict carries a sentence that says why, shown to people as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from deskbase.mail.headers import normalize_message_id
from deskbase.mail.parse import ParsedMessage

Kind = Literal["normal", "loop", "bounce", "auto_reply", "bulk"]

# What our own automatic mail carries (RFC 3834, and Microsoft's header for Exchange).
AUTO_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}

# Headers that auto-responders set, whatever their value.
_AUTORESPONDER_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-auto-reply",
    "x-autoreply-from",
    "x-mail-autoreply",
)
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_MAIL_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailer_daemon"})
_NO_REPLY_SENDER = re.compile(r"^(?:no-?reply|do-?not-?reply|notifications?|bounces?)\b", re.I)
# Subjects of out-of-office replies from clients that set no header (and translations).
_AUTO_REPLY_SUBJECT = re.compile(
    r"^(?:automatic reply|auto(?:matic)? response|out of (?:the )?office|autoreply|"
    r"automatische antwort|abwesenheitsnotiz|réponse automatique|respuesta automática|"
    r"automatisch antwoord|autosvar|automatisk svar|odpowiedź automatyczna)\s*[:\-]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Classification:
    kind: Kind
    reason: str  # a sentence for people: why this kind
    original_message_id: str | None = None  # for bounces: the message that was not delivered


def classify(
    msg: ParsedMessage, *, own_domains: Iterable[str], loop_header: str = "X-Deskbase-Loop"
) -> Classification:
    """Loop first, then bounce, then automatic and bulk mail; anything else is normal."""
    domains = {domain.strip().lstrip("@").lower() for domain in own_domains if domain.strip()}
    return (
        _loop(msg, domains, loop_header)
        or _bounce(msg)
        or _automatic(msg)
        or Classification("normal", "normal: no sign of a loop, a bounce or an automatic reply")
    )


def _loop(msg: ParsedMessage, domains: set[str], loop_header: str) -> Classification | None:
    marker = msg.header(loop_header)
    if marker is not None:
        return Classification("loop", f"dropped: it carries our loop header {loop_header}")
    # Our own mail server's delivery reports carry our domain too: they are bounces, not loops.
    if not msg.generated_message_id and not _delivery_report(msg):
        domain = msg.message_id.rpartition("@")[2].lower()
        own = next((d for d in domains if domain == d or domain.endswith("." + d)), None)
        if own is not None:
            return Classification(
                "loop", f"dropped: Message-ID <{msg.message_id}> is one of ours ({own})"
            )
    return None


def _delivery_report(msg: ParsedMessage) -> bool:
    sender = msg.from_.email.partition("@")[0].lower() if msg.from_ else ""
    report_type = msg.report.report_type if msg.report else ""
    return (msg.is_report and report_type == "delivery-status") or sender in _MAIL_SYSTEM_SENDERS


def _bounce(msg: ParsedMessage) -> Classification | None:
    report = msg.report
    report_type = report.report_type if report else ""
    if msg.is_report and report_type == "disposition-notification":
        return None  # a read receipt: handled with the automatic replies
    sender = msg.from_.email.partition("@")[0].lower() if msg.from_ else ""
    if msg.is_report and report_type == "delivery-status":
        why = "delivery status notification"
    elif sender in _MAIL_SYSTEM_SENDERS:
        why = f"message from the mail system ({msg.from_.email if msg.from_ else sender})"
    elif msg.return_path == "" and not _auto_submitted(msg):
        why = "message with an empty Return-Path (<>), as mail systems send"
    else:
        return None
    original = report.original_message_id if report else None
    original = original or _header_id(msg, "original-message-id", "x-original-message-id")
    target = f" for <{original}>" if original else "; it does not name the original message"
    failures = ""
    if report and report.recipients:
        failures = (
            " ("
            + ", ".join(
                f"{r.recipient or 'unknown recipient'}: {r.action or 'no action'}"
                + (f" {r.status}" if r.status else "")
                for r in report.recipients[:5]
            )
            + ")"
        )
    return Classification("bounce", f"bounce: {why}{target}{failures}", original)


def _automatic(msg: ParsedMessage) -> Classification | None:
    auto_submitted = _auto_submitted(msg)
    if auto_submitted:
        return Classification("auto_reply", f"auto-reply: Auto-Submitted: {auto_submitted}")
    for name in _AUTORESPONDER_HEADERS:
        value = msg.header(name)
        if value is not None:
            return Classification("auto_reply", f"auto-reply: {_title(name)}: {value[:80]}")
    if msg.is_report and msg.report and msg.report.report_type == "disposition-notification":
        return Classification("auto_reply", "auto-reply: read receipt (disposition notification)")
    precedence = (msg.header("precedence") or "").strip().lower()
    if precedence in ("auto_reply", "auto-reply"):
        return Classification("auto_reply", f"auto-reply: Precedence: {precedence}")
    if precedence in _BULK_PRECEDENCE:
        return Classification("bulk", f"bulk: Precedence: {precedence}")
    list_id = msg.header("list-id")
    if list_id is not None:
        return Classification("bulk", f"bulk: mailing list (List-Id: {list_id[:120]})")
    sender = msg.from_.email.partition("@")[0] if msg.from_ else ""
    no_reply = bool(_NO_REPLY_SENDER.match(sender))
    if msg.header("list-unsubscribe") is not None and no_reply:
        return Classification("bulk", f"bulk: List-Unsubscribe from a no-reply sender ({sender})")
    suppress = (msg.header("x-auto-response-suppress") or "").lower()
    if no_reply and re.search(r"\b(?:all|oof|autoreply)\b", suppress):
        return Classification(
            "auto_reply",
            f"auto-reply: X-Auto-Response-Suppress: {suppress} from a no-reply sender ({sender})",
        )
    if _AUTO_REPLY_SUBJECT.match(msg.subject):
        return Classification("auto_reply", f"auto-reply: the subject says so ({msg.subject[:80]})")
    return None


def _auto_submitted(msg: ParsedMessage) -> str:
    """Auto-Submitted's value when it is not "no" (RFC 3834), else ""."""
    value = (msg.header("auto-submitted") or "").strip()
    keyword = value.split(";", 1)[0].strip().lower()
    return value if keyword and keyword != "no" else ""


def _header_id(msg: ParsedMessage, *names: str) -> str | None:
    for name in names:
        normalized = normalize_message_id(msg.header(name))
        if normalized:
            return normalized
    return None


def _title(name: str) -> str:
    return "-".join(word.capitalize() if word != "x" else "X" for word in name.split("-"))
