"""Where a mailbox's servers may be: never the internal network, unless the operator says so.

The host names of a mailbox (IMAP, SMTP) are typed in by an organization's admin. The
connection test and IMAP fetching connect to them from inside the installation, so
they go through the shared outbound guard (deskbase.core.netguard): the name is looked
up once, an internal address is refused (ValidationFailed naming the field: a 422),
and the clients (deskbase.mail.imap, deskbase.mail.services) connect to exactly the
address returned, with the name kept for TLS (no DNS rebinding).

`DESKBASE_MAIL_ALLOW_PRIVATE_HOSTS=1` lifts the refusal: for an installation whose
mail server is on its own network, and for the tests' servers on 127.0.0.1.
"""

from __future__ import annotations

from django.conf import settings

from deskbase.core import netguard
from deskbase.core.netguard import HostRefused, refused_because

__all__ = ["HostRefused", "refused_because", "resolve"]


def resolve(host: str, port: int, *, field: str) -> str:
    """The one address to connect to for `host`; HostRefused if any is internal."""
    return netguard.resolve(
        host, port, field=field, what="mail servers", setting="DESKBASE_MAIL_ALLOW_PRIVATE_HOSTS",
        allow_private=getattr(settings, "MAIL_ALLOW_PRIVATE_HOSTS", False),
    )  # fmt: skip
