"""Where a mailbox's servers may be: never the internal network, unless the operator says so.

The host names of a mailbox (IMAP, SMTP) are typed in by an organization's admin. The
connection test and IMAP fetching connect to them from inside the installation, so
a name that resolves to a loopback, private, link-local, multicast or otherwise
non-public address would let an admin probe the internal network (SSRF). `resolve`
looks the name up once, refuses such an address (ValidationFailed naming the field:
a 422), and returns the address to connect to; the clients (deskbase.mail.imap,
deskbase.mail.services) connect to exactly that address, with the name kept for
TLS, so a second lookup cannot answer differently (DNS rebinding).

`DESKBASE_MAIL_ALLOW_PRIVATE_HOSTS=1` lifts the refusal: for an installation whose
mail server is on its own network, and for the tests' servers on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

from deskbase.core.errors import ValidationFailed


class HostRefused(ValidationFailed):
    """The host resolves to an address mail servers may not be at."""


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes the address internal, or None for a public one."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for kind, test in (
        ("loopback", address.is_loopback), ("link-local", address.is_link_local),
        ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
        ("private", address.is_private), ("reserved", address.is_reserved),
    ):  # fmt: skip
        if test:
            return kind
    return None if address.is_global else "non-public"


def refused_because(address: str) -> str | None:
    """Why `address` (an IP) may not be connected to; None when it may."""
    return _kind(ipaddress.ip_address(address.split("%", 1)[0]))


def resolve(host: str, port: int, *, field: str) -> str:
    """The one address to connect to for `host`; HostRefused if any is internal.

    A lookup failure is an OSError (socket.gaierror), like a refused connection.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} has no address")
    if not getattr(settings, "MAIL_ALLOW_PRIVATE_HOSTS", False):
        for address in addresses:
            kind = refused_because(address)
            if kind is not None:
                raise HostRefused.one(
                    field,
                    f"{host} resolves to {address}, a {kind} address: mail servers on the "
                    "internal network are refused (the operator allows them with "
                    "DESKBASE_MAIL_ALLOW_PRIVATE_HOSTS).",
                )
    return addresses[0]
