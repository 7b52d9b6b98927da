"""Every message of the public corpus goes through `receive` into the database with a reason.

The corpus lies beside the checkout (../shared/email-corpus, not part of the project);
the test skips, saying so, when it is absent.
"""

from __future__ import annotations

import pytest

from deskbase.mail import ingest
from deskbase.mail.models import InboundMessage, InboundState, Source
from tests.mail.corpus import CORPUS, hang_guard

MESSAGES = sorted((CORPUS / "mail-parser").rglob("*.eml"))

pytestmark = pytest.mark.skipif(
    not MESSAGES, reason=f"the e-mail corpus is not at {CORPUS} (it lives beside the checkout)"
)


def test_every_corpus_message_becomes_a_ticket_a_reply_or_a_review_entry_with_its_reason(
    mail_a,
):
    # Given every message of the corpus, real-world and malformed
    problems: list[str] = []
    outcomes: dict[str, int] = {}
    for path in MESSAGES:
        name = str(path.relative_to(CORPUS))
        # When the mailbox receives it
        try:
            with hang_guard(30):
                inbound = ingest.receive(
                    mailbox=mail_a.mailbox, raw=path.read_bytes(), source=Source.UPLOAD
                )
        except Exception as error:  # collected: one report names every failing message
            problems.append(f"{name}: {type(error).__name__}: {error}")
            continue
        inbound.refresh_from_db()
        outcomes[inbound.state] = outcomes.get(inbound.state, 0) + 1
        # Then it is recorded with a decision people can read ...
        if not inbound.decision.strip() or inbound.decision == "Being processed.":
            problems.append(f"{name}: no decision ({inbound.state})")
        # ... a ticket or a reply names its ticket; review names its cause
        if inbound.state in (InboundState.TICKET, InboundState.REPLY) and not inbound.ticket_id:
            problems.append(f"{name}: {inbound.state} without a ticket")
        if inbound.state == InboundState.REVIEW and not inbound.review_cause:
            problems.append(f"{name}: in review without a cause")
        if (
            inbound.state == InboundState.REVIEW
            and inbound.review_cause == "failed"
            and "processing failed" in inbound.decision
        ):
            problems.append(f"{name}: {inbound.decision}")
    assert problems == []
    assert InboundMessage.objects.count() == len(MESSAGES) - _repeats()
    # And most of the corpus became tickets (it is mail from people, mostly)
    assert outcomes.get(InboundState.TICKET, 0) > len(MESSAGES) // 2, outcomes


def _repeats() -> int:
    """Messages of the corpus that are the same message (Message-ID) as an earlier one."""
    import hashlib

    from deskbase.mail.headers import message_id_hash
    from deskbase.mail.parse import parse

    seen: set[bytes] = set()
    repeats = 0
    for path in MESSAGES:
        raw = path.read_bytes()
        fallback = f"{hashlib.sha256(raw).hexdigest()}@generated.deskbase.invalid"
        digest = message_id_hash(parse(raw).message_id or fallback)
        repeats += digest in seen
        seen.add(digest)
    return repeats
