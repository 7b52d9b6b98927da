"""Small, safe helpers for header values and Message-IDs, shared by inbound and outbound mail."""

from __future__ import annotations

import hashlib
import re

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: any of them in a
# header value could end the header (CR, LF) or be read as a line break by some software.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BRACKETED = re.compile(r"<([^<>\s]*)>")
_MAX_ID_LENGTH = 998  # RFC 5322's line limit: nothing longer is a real Message-ID
MAX_REFERENCES = 100


def safe_header_value(value: str) -> str:
    """`value` on one line: control characters (CR, LF, NUL, tab...) become single spaces."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def normalize_message_id(value: str | None) -> str | None:
    """The Message-ID in `value` without its angle brackets, domain lower-cased; None if invalid.

    A valid id has a non-empty local part and domain separated by "@", and no whitespace or
    control characters (RFC 5322 msg-id). The domain part is case-insensitive, the local
    part is not, so only the domain is lower-cased.
    """
    if not value:
        return None
    text = value.strip()
    match = _BRACKETED.search(text)
    candidate = match.group(1) if match else text
    if not candidate or len(candidate) > _MAX_ID_LENGTH or _CONTROL.search(candidate):
        return None
    if any(ch.isspace() for ch in candidate):
        return None
    local, at, domain = candidate.rpartition("@")
    if not at or not local or not domain:
        return None
    return f"{local}@{domain.lower()}"


def message_id_list(value: str | None, *, limit: int = MAX_REFERENCES) -> list[str]:
    """The Message-IDs in a References or In-Reply-To value, in order, without duplicates.

    When there are more than `limit`, the first one (the thread's root) and the most recent
    ones are kept, as RFC 5322 suggests for trimming References.
    """
    if not value:
        return []
    found = _BRACKETED.findall(value)
    if not found:  # some mailers omit the brackets
        found = [token for token in value.split() if "@" in token]
    ids: list[str] = []
    seen: set[str] = set()
    for candidate in found:
        normalized = normalize_message_id(candidate)
        if normalized and normalized not in seen:
            seen.add(normalized)
            ids.append(normalized)
    if len(ids) > limit:
        ids = ids[:1] + ids[-(limit - 1) :]
    return ids


def message_id_hash(message_id: str) -> bytes:
    """SHA-256 of the normalized Message-ID: equal up to brackets and domain case, equal hash."""
    normalized = normalize_message_id(message_id) or message_id.strip().strip("<>")
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).digest()
