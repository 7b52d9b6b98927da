"""Whether the From address of a message was verified by our own receiving server (RFC 8601).

Anyone can write an `Authentication-Results` header into a message. Only the one our
receiving server adds is trusted: it is the topmost, and it names the server's
authserv-id. A header with another authserv-id above it means something outside our
control handled the message after our server, so nothing below it is trusted either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from deskbase.mail.parse import ParsedMessage

_QUOTED_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|\((?:[^()\\]|\\.)*\)')
_RESULT = re.compile(r"^([a-z0-9_-]+)\s*=\s*([a-z0-9_-]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"([a-z0-9_-]+\.[a-z0-9_.-]+)\s*=\s*(\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    verified: bool | None  # None: no trusted header, or verification is not configured
    reason: str  # a sentence for people


@dataclass
class _Result:
    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


def sender_verified(msg: ParsedMessage, *, authserv_id: str | None) -> Verdict:
    """Verified when our server's topmost header says dmarc=pass, or aligned dkim/spf=pass."""
    if not authserv_id or not authserv_id.strip():
        return Verdict(None, "sender verification is not configured (no authserv-id)")
    ours = authserv_id.strip().lower()
    headers = msg.headers.get("authentication-results", [])
    if not headers:
        return Verdict(None, f"no Authentication-Results header from {ours}")
    server, results = _parse(headers[0])
    if server != ours:
        below = any(_parse(value)[0] == ours for value in headers[1:])
        where = f"; the one from {ours} below it is not trusted" if below else ""
        return Verdict(
            None, f"the topmost Authentication-Results header is from {server or 'nobody'}{where}"
        )
    domain = msg.from_.email.rpartition("@")[2].lower() if msg.from_ and msg.from_.email else ""
    if not domain:
        return Verdict(False, "the message has no readable From address to verify")
    return _judge(results, domain, ours)


def _judge(results: list[_Result], domain: str, server: str) -> Verdict:
    seen: list[str] = []
    for item in results:
        seen.append(f"{item.method}={item.result}")
        if item.result != "pass":
            continue
        if item.method == "dmarc":
            header_from = item.properties.get("header.from", domain).lower()
            if _aligned(header_from, domain):
                return Verdict(True, f"verified by {server}: dmarc=pass for {domain}")
        elif item.method == "dkim":
            signer = item.properties.get("header.d") or item.properties.get("header.i", "")
            signer = signer.rpartition("@")[2].lower()
            if _aligned(signer, domain):
                return Verdict(True, f"verified by {server}: dkim=pass by {signer}, aligned")
        elif item.method == "spf":
            envelope = item.properties.get("smtp.mailfrom") or item.properties.get("smtp.helo", "")
            envelope = envelope.rpartition("@")[2].lower()
            if _aligned(envelope, domain):
                return Verdict(True, f"verified by {server}: spf=pass for {envelope}, aligned")
    found = ", ".join(seen) if seen else "no results"
    return Verdict(False, f"not verified by {server}: no aligned pass for {domain} ({found})")


def _aligned(signer: str, domain: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other (never a bare TLD)."""
    signer, domain = signer.strip(".").lower(), domain.strip(".").lower()
    if not signer or "." not in signer or "." not in domain:
        return False
    return signer == domain or domain.endswith("." + signer) or signer.endswith("." + domain)


def _parse(value: str) -> tuple[str, list[_Result]]:
    """(authserv-id, results) of one header value; comments and quoted strings are blanked."""
    text = value
    for _ in range(5):  # nested comments: strip the innermost each round
        stripped = _QUOTED_OR_COMMENT.sub(_keep_quoted, text)
        if stripped == text:
            break
        text = stripped
    sections = [section.strip() for section in text.split(";")]
    head = sections[0].split()
    server = head[0].lower() if head else ""
    results: list[_Result] = []
    for section in sections[1:]:
        match = _RESULT.match(section)
        if not match:
            continue
        properties = {
            name.lower(): prop.strip('"')
            for name, prop in _PROPERTY.findall(section[match.end() :])
        }
        results.append(_Result(match.group(1).lower(), match.group(2).lower(), properties))
    return server, results


def _keep_quoted(match: re.Match[str]) -> str:
    token = match.group(0)
    return token.replace(";", " ") if token.startswith('"') else " "
