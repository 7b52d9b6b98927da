"""The outbox consumer `mail.send`: compose, sign and send one outbound message, once.

Idempotent by the row: a message no longer queued (sent, failed, suppressed) is not
sent again, and its Message-ID was fixed when it was queued, so a send repeated
after a crash (between the server's answer and the commit) is the same message,
which clients show once. The row is marked sent in the transaction that marks the
outbox row delivered. A 5xx refusal marks it failed with the server's answer (no
retry); any other failure raises, and the outbox tries again with back-off.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from deskbase.mail import compose, crypto, outgoing, smtp
from deskbase.mail.models import OutboundMessage, OutboundState
from deskbase.outbox import consumer

# Importing the subscribers here registers them in every process: the outbox imports
# each app's `consumers` module when Django starts.
__all__ = ["outgoing", "send"]


def _finish(outbound: OutboundMessage, state: str, error: str = "") -> None:
    outbound.state, outbound.error = state, error[:2000]
    fields = ["state", "error"]
    if state == OutboundState.SENT:
        outbound.sent_at = timezone.now()
        fields.append("sent_at")
    outbound.save(update_fields=fields)


@consumer(outgoing.SEND, max_attempts=10)
def send(payload: dict[str, Any], key: str) -> None:
    outbound_id = payload.get("outbound")
    if not isinstance(outbound_id, int):
        raise ValueError(f"mail.send needs an outbound message id, not {outbound_id!r}")
    outbound = (
        OutboundMessage.objects.select_for_update(of=("self",))
        .select_related("mailbox", "ticket", "ticket__customer", "comment", "comment__author")
        .filter(id=outbound_id)
        .first()
    )
    if outbound is None or outbound.state != OutboundState.QUEUED:
        return  # already sent, failed or suppressed: nothing more to do
    mailbox = outbound.mailbox
    if mailbox is None or mailbox.is_deleted or not mailbox.is_active or not mailbox.smtp_host:
        _finish(outbound, OutboundState.SUPPRESSED, "the sending mailbox no longer sends mail")
        return
    if outbound.kind in outgoing.AUTOMATIC and outgoing.opened_by_automatic_mail(outbound):
        reason = "the ticket was opened by automatic mail, which is never answered automatically"
        _finish(outbound, OutboundState.SUPPRESSED, reason)
        return
    outgoing.thread_late(outbound)
    mailbox = outbound.mailbox
    assert mailbox is not None
    message = compose.build(outgoing.draft_for(outbound))
    key_pem = crypto.decrypt(mailbox.dkim_private_key) if mailbox.dkim_private_key else ""
    dkim_key = (
        compose.DkimKey(mailbox.dkim_domain, mailbox.dkim_selector, key_pem) if key_pem else None
    )
    data = compose.to_bytes(message, dkim_key=dkim_key)
    try:
        refused = smtp.send(mailbox, sender=mailbox.address,
                            recipients=compose.envelope_recipients(message), data=data)  # fmt: skip
    except smtp.PermanentRefusal as exc:
        _finish(outbound, OutboundState.FAILED, f"refused by {mailbox.smtp_host}: {exc}")
        return
    note = "; ".join(f"{a}: {t}" for a, t in refused.items())
    _finish(outbound, OutboundState.SENT, f"refused for some recipients: {note}" if note else "")
