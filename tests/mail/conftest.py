"""Shared fixtures for the mail tests: two organizations with a mailbox, raw messages.

- `mail_a`, `mail_b`: a `MailWorld` each (the tenant's people and a push mailbox,
  support@acme.test and support@globex.test);
- `raw_message(...)`: a raw message (bytes) built with email.message.EmailMessage;
- `mail_media` (autouse): attachments and raw .eml files go to a temporary directory;
- `private_mail_hosts` (autouse): mail servers on 127.0.0.1 are allowed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from django.utils import timezone

from deskbase.mail.models import Inbound, Mailbox
from tests.conftest import TenantWorld

_counter = itertools.count(1)


@dataclass
class MailWorld:
    """One organization's people (TenantWorld) and its support mailbox."""

    world: TenantWorld
    mailbox: Mailbox

    @property
    def org(self):
        return self.world.org

    @property
    def customer(self):
        return self.world.customer

    @property
    def agent(self):
        return self.world.agent


def make_mailbox(world: TenantWorld, address: str, **fields) -> Mailbox:
    return Mailbox.objects.create(
        organization=world.org, name=fields.pop("name", "Support"), address=address,
        inbound=fields.pop("inbound", Inbound.PUSH), **fields,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def mail_media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def private_mail_hosts(settings) -> None:
    """The tests' mail servers (Dovecot, aiosmtpd) listen on 127.0.0.1."""
    settings.MAIL_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def mail_a(tenant_a) -> MailWorld:
    return MailWorld(tenant_a, make_mailbox(tenant_a, "support@acme.test"))


@pytest.fixture
def mail_b(tenant_b) -> MailWorld:
    return MailWorld(tenant_b, make_mailbox(tenant_b, "support@globex.test"))


def build_message(
    *,
    sender: str = "Carla Customer <customer@acme.test>",
    to: str = "support@acme.test",
    subject: str = "Printer on fire",
    body: str = "Hello, the printer is on fire.",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    inline: list[tuple[str, str, bytes]] = (),
    no_message_id: bool = False,
) -> bytes:
    """A raw message; `attachments`/`inline`: (file name or content id, mime type, bytes)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    if not no_message_id:
        msg["Message-ID"] = message_id or f"<m{next(_counter)}.{id(msg)}@client.example>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for content_id, mime, data in inline:
        maintype, subtype = mime.split("/")
        html_part = msg.get_payload()[-1]
        html_part.add_related(data, maintype=maintype, subtype=subtype, cid=f"<{content_id}>")
    for name, mime, data in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


@pytest.fixture
def raw_message() -> Callable[..., bytes]:
    return build_message
