"""The per-ticket reply token: unguessable, checkable without a lookup table.

A token is `<ticket number>-<mac>`, the mac being 10 base32 characters (50 bits) of
an HMAC-SHA256 over the organization and ticket ids under a key derived from the
oldest mail key (deskbase.mail.crypto). It travels in a plus-addressed Reply-To
(`support+1234-k3j5m2p9qa@example.com`) and in brackets in the subject and body
(`[#1234-k3j5m2p9qa]`). Knowing a ticket's number is not enough to forge one, and a
token only ever names a ticket of the organization it was made for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from deskbase.mail import crypto

MAC_LENGTH = 10
TOKEN_PATTERN = re.compile(r"(?<![0-9A-Za-z])(\d{1,10})-([a-z2-7]{10})(?![0-9A-Za-z])")
BRACKETED_PATTERN = re.compile(r"\[#(\d{1,10})-([a-z2-7]{10})\]")


@dataclass(frozen=True)
class Token:
    number: int
    mac: str

    def __str__(self) -> str:
        return f"{self.number}-{self.mac}"


def _key() -> bytes:
    # Bound to the oldest mail key (the last one listed), not to SECRET_KEY: neither
    # rotating the session secret nor adding a new mail key in front breaks the
    # threads of every open conversation.
    return hashlib.sha256(b"deskbase ticket token\x00" + crypto.keys()[-1].encode()).digest()


def _mac(organization_id: int, ticket_id: int) -> str:
    digest = hmac.new(_key(), f"{organization_id}:{ticket_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:MAC_LENGTH]


def ticket_token(*, organization_id: int, ticket_id: int, number: int) -> Token:
    return Token(number=number, mac=_mac(organization_id, ticket_id))


def is_valid(token: Token, *, organization_id: int, ticket_id: int) -> bool:
    """Whether the token was made for this ticket (constant-time comparison)."""
    return hmac.compare_digest(token.mac, _mac(organization_id, ticket_id))


def reply_address(mailbox_address: str, token: Token) -> str:
    """`local+<token>@domain` for the Reply-To of the mail sent about a ticket."""
    local, _, domain = mailbox_address.rpartition("@")
    return f"{local.split('+', 1)[0]}+{token}@{domain}"


def bracketed(token: Token) -> str:
    return f"[#{token}]"


def in_address(address: str) -> Token | None:
    """The token of a plus-address (`support+1234-k3j5m2p9qa@...`), if any."""
    local = address.rpartition("@")[0]
    if "+" not in local:
        return None
    match = TOKEN_PATTERN.fullmatch(local.split("+", 1)[1].lower())
    return Token(int(match.group(1)), match.group(2)) if match else None


def in_text(text: str) -> list[Token]:
    """Bracketed tokens in a subject or body, in order of appearance, without repeats."""
    found: list[Token] = []
    for match in BRACKETED_PATTERN.finditer(text or ""):
        token = Token(int(match.group(1)), match.group(2))
        if token not in found:
            found.append(token)
    return found
