"""Outbound connections to hosts that tenants type in: never the internal network (SSRF).

A mailbox's IMAP/SMTP servers and a webhook endpoint's URL are chosen by an
organization's admin, and deskbase connects to them from inside the installation.
A name that resolves to a loopback, private, link-local, CGNAT, unique-local,
IPv4-mapped, NAT64, multicast or otherwise non-public address would let an admin
probe (or attack) the internal network, or a cloud's metadata service.

`resolve` looks the name up ONCE, refuses the name if any of its addresses is
internal (`HostRefused`, a ValidationFailed naming the field: a 422), and returns the
one address to connect to. The clients connect to exactly that address and keep the
name for the Host header and TLS (SNI and certificate check), so a second lookup that
answers differently (DNS rebinding) is never made. Numeric forms that the C library
accepts (`2130706433`, `0177.0.0.1`, `[::ffff:127.0.0.1]`) are resolved like any name
and refused by the address they stand for.

Each caller names the operator setting that lifts the refusal (for a mail server on
the installation's own network, or the tests' servers on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext

from deskbase.core.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]


class HostRefused(ValidationFailed):
    """The host resolves to an address that outbound connections may not reach."""


# Named first, so that the error says why; anything else not globally routable is
# "non-public" (Python's table of special-purpose registries).
_NAMED: tuple[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network], ...] = tuple(
    (kind, ipaddress.ip_network(network))
    for kind, network in (
        ("unspecified", "0.0.0.0/8"), ("loopback", "127.0.0.0/8"), ("loopback", "::1/128"),
        ("private", "10.0.0.0/8"), ("private", "172.16.0.0/12"), ("private", "192.168.0.0/16"),
        ("link-local", "169.254.0.0/16"), ("link-local", "fe80::/10"),
        ("CGNAT", "100.64.0.0/10"), ("unique-local", "fc00::/7"),
        ("IPv4-mapped", "::ffff:0:0/96"), ("NAT64", "64:ff9b::/96"), ("NAT64", "64:ff9b:1::/48"),
        ("multicast", "224.0.0.0/4"), ("multicast", "ff00::/8"),
        ("reserved", "240.0.0.0/4"), ("unspecified", "::/128"),
    )
)  # fmt: skip


def refused_because(address: str | IPAddress) -> str | None:
    """What makes `address` (an IP) internal, or None for a public one."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address.split("%", 1)[0])
    for kind, network in _NAMED:
        if address.version == network.version and address in network:
            return kind
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    return None if address.is_global else "non-public"


def resolve(
    host: str,
    port: int,
    *,
    field: str,
    allow_private: bool,
    setting: str,
    what: str = "servers",
    resolver: Resolver | None = None,
) -> str:
    """The one address to connect to for `host`; HostRefused if any of its addresses is internal.

    `allow_private` lifts the refusal (the operator's `setting`, named in the error).
    A lookup failure is an OSError (socket.gaierror), like a refused connection.
    """
    lookup = resolver or socket.getaddrinfo
    infos = lookup(host.strip("[]"), port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            kind = refused_because(address)
            if kind is not None:
                raise HostRefused.one(
                    field,
                    gettext(
                        "%(host)s resolves to %(address)s, a %(kind)s address: %(what)s on "
                        "the internal network are refused (the operator allows them with "
                        "%(setting)s)."
                    )
                    % {
                        "host": host,
                        "address": address,
                        "kind": kind,
                        "what": what,
                        "setting": setting,
                    },
                )
    return addresses[0]
