"""Only our receiving server's topmost Authentication-Results header verifies a sender."""

from __future__ import annotations

import pytest

from deskbase.mail.authresults import sender_verified
from deskbase.mail.parse import parse

SERVER = "mx.desk.example"


def verdict(*results: str, sender: str = "alice@example.com", authserv_id: str | None = SERVER):
    lines = [f"Authentication-Results: {value}" for value in results]
    raw = "\r\n".join([*lines, f"From: Alice <{sender}>", "Subject: hi", "", "x"]).encode()
    return sender_verified(parse(raw), authserv_id=authserv_id)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (f"{SERVER}; dmarc=pass header.from=example.com", "dmarc=pass for example.com"),
        (f"{SERVER}; dkim=pass (good signature) header.d=example.com", "dkim=pass by example.com"),
        (f"{SERVER}; dkim=pass header.i=@mail.example.com", "dkim=pass by mail.example.com"),
        (f"{SERVER}; spf=pass smtp.mailfrom=bounce@example.com", "spf=pass for example.com"),
        (
            f"{SERVER} 1; spf=fail smtp.mailfrom=x.org;\r\n dkim=pass header.d=example.com",
            "dkim=pass by example.com",
        ),
    ],
)
def test_a_pass_aligned_with_the_from_domain_verifies_the_sender(result: str, reason: str) -> None:
    found = verdict(result)

    assert found.verified is True
    assert reason in found.reason
    assert SERVER in found.reason


@pytest.mark.parametrize(
    "result",
    [
        f"{SERVER}; dkim=pass header.d=attacker.example",
        f"{SERVER}; spf=pass smtp.mailfrom=someone@attacker.example",
        f"{SERVER}; dmarc=fail header.from=example.com",
        f"{SERVER}; dkim=pass header.d=com",  # a bare top-level domain aligns with nothing
        f"{SERVER}; none",
        f'{SERVER}; dkim=fail (reason "dmarc=pass") header.d=example.com',
    ],
)
def test_no_aligned_pass_means_not_verified(result: str) -> None:
    found = verdict(result)

    assert found.verified is False
    assert found.reason.startswith(f"not verified by {SERVER}")


def test_a_forged_header_below_ours_is_ignored() -> None:
    found = verdict(
        f"{SERVER}; dkim=fail header.d=example.com",
        f"{SERVER}; dmarc=pass header.from=example.com",  # written by the sender
    )

    assert found.verified is False


def test_a_header_from_another_server_on_top_makes_ours_below_untrusted() -> None:
    found = verdict(
        "relay.other.example; dmarc=pass header.from=example.com",
        f"{SERVER}; dmarc=pass header.from=example.com",
    )

    assert found.verified is None
    assert found.reason == (
        "the topmost Authentication-Results header is from relay.other.example; "
        f"the one from {SERVER} below it is not trusted"
    )


def test_only_foreign_headers_verify_nothing() -> None:
    found = verdict("gmail.example; dmarc=pass header.from=example.com")

    assert found.verified is None
    assert "from gmail.example" in found.reason


def test_without_a_configured_server_nothing_is_verified() -> None:
    found = verdict(f"{SERVER}; dmarc=pass", authserv_id=None)

    assert found.verified is None
    assert found.reason == "sender verification is not configured (no authserv-id)"


def test_without_any_header_nothing_is_verified() -> None:
    found = verdict()

    assert found.verified is None
    assert found.reason == f"no Authentication-Results header from {SERVER}"


def test_the_server_name_is_compared_without_case() -> None:
    found = verdict("MX.Desk.Example; dmarc=pass header.from=example.com")

    assert found.verified is True
