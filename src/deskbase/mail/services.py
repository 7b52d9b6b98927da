"""Mailboxes as the tenant administration writes them (docs/mail-admin.md).

Admins only: a mailbox holds the credentials of the organization's mail servers, like
the organization's own settings (managers read the list, see deskbase.mail.selectors).
Passwords and the DKIM key arrive in clear, are stored encrypted (deskbase.mail.crypto)
and never leave again: events carry "(secret)" instead of their values, and nothing
here logs them. An empty secret on update keeps the stored one.

`mailbox_test` logs in to the IMAP server (with the fetcher's client, deskbase.mail.imap)
and opens the SMTP connection with short timeouts, outside any transaction, and stores
what the servers answered. A host on the internal network is refused with a field
error before anything connects to it (deskbase.mail.hosts).
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.utils import timezone
from django.utils.translation import gettext
from imapclient.exceptions import IMAPClientError

from deskbase.accounts.models import Role, User
from deskbase.core import events
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.core.updates import model_update
from deskbase.mail import crypto, hosts, imap
from deskbase.mail.models import Inbound, Mailbox, Security
from deskbase.organizations.models import Organization

SECRETS = ("imap_password", "smtp_password", "dkim_private_key")
# Shown in events and history instead of a secret's value.
HIDDEN = "(secret)"
TEXT_FIELDS = (
    "name", "address", "from_name", "inbound", "imap_host", "imap_security", "imap_username",
    "imap_folder", "imap_archive_folder", "smtp_host", "smtp_security", "smtp_username",
    "dkim_domain", "dkim_selector", "authserv_id",
)  # fmt: skip
PORTS = ("imap_port", "smtp_port")
EDITABLE = frozenset({*TEXT_FIELDS, *PORTS, "is_active"})
# A connection test waits this long for each server; a real server answers in far less.
TEST_TIMEOUT = 10.0


def _ensure_admin(actor: User | None) -> None:
    # None: an operator command (the owner role), which may do anything.
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied(gettext("only admins may manage mailboxes"))


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    """Text stripped, the address lower-cased, ports as numbers; None refused by name."""
    clean: dict[str, Any] = {}
    for field, value in values.items():
        if field in PORTS:  # None or blank: no port (a server that is not used)
            clean[field] = _port(field, value)
        elif value is None:
            raise ValidationFailed.one(
                field, gettext("%(field)s cannot be null.") % {"field": field}
            )
        elif field == "is_active":
            if not isinstance(value, bool):
                raise ValidationFailed.one(field, gettext("Say true or false."))
            clean[field] = value
        else:
            clean[field] = str(value).strip()
    if "address" in clean:
        clean["address"] = clean["address"].lower()
    return clean


def _port(field: str, value: Any) -> int | None:
    if value == "" or value is None:
        return None
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValidationFailed.one(field, gettext("A port is a number from 1 to 65535.")) from None
    if not 1 <= port <= 65535:
        raise ValidationFailed.one(field, gettext("A port is a number from 1 to 65535."))
    return port


def _check_dkim_key(pem: str) -> None:
    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValidationFailed.one(
            "dkim_private_key",
            gettext("Paste the private key as PEM (-----BEGIN PRIVATE KEY-----)."),
        ) from None


def _set_secrets(mailbox: Mailbox, secrets: dict[str, str | None]) -> dict[str, tuple]:
    """Encrypt each secret given (empty or None: keep); what changed, without values."""
    changed: dict[str, tuple] = {}
    for field in SECRETS:
        plain = secrets.get(field) or ""
        if not plain:
            continue
        if field == "dkim_private_key":
            _check_dkim_key(plain)
        had = bool(getattr(mailbox, field))
        setattr(mailbox, field, crypto.encrypt(plain))
        changed[field] = (HIDDEN if had else "", HIDDEN)
    # Signing switched off (no domain, no selector): the key goes with it.
    signs = mailbox.dkim_domain or mailbox.dkim_selector
    if not signs and mailbox.dkim_private_key and "dkim_private_key" not in changed:
        mailbox.dkim_private_key = ""
        changed["dkim_private_key"] = (HIDDEN, "")
    return changed


def _check_complete(mailbox: Mailbox) -> None:
    """What the constraints cannot say: an IMAP mailbox logs in with a password."""
    if mailbox.inbound == Inbound.IMAP and not mailbox.imap_password:
        raise ValidationFailed.one("imap_password", gettext("An IMAP mailbox needs a password."))
    if mailbox.smtp_username and not mailbox.smtp_password:
        raise ValidationFailed.one(
            "smtp_password", gettext("An SMTP user name needs its password.")
        )


def _locked(organization: Organization, mailbox_id: int) -> Mailbox:
    found = (
        Mailbox.objects.select_for_update()
        .filter(organization_id=organization.id, pk=mailbox_id)
        .first()
    )
    if found is None:
        raise NotFound(gettext("no such mailbox"), field="mailbox")
    return found


@tenant_atomic
def mailbox_create(
    *,
    organization: Organization,
    actor: User | None,
    name: str,
    address: str,
    imap_password: str = "",
    smtp_password: str = "",
    dkim_private_key: str = "",
    **fields: Any,
) -> Mailbox:
    """A new mailbox; `fields` are any of EDITABLE. Secrets are given in clear."""
    _ensure_admin(actor)
    unknown = set(fields) - EDITABLE
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed.one(
            field, gettext("%(field)s cannot be set here.") % {"field": field}
        )
    values = _normalized({"name": name, "address": address, **fields})
    mailbox = Mailbox(organization=organization, **values)
    _set_secrets(mailbox, {"imap_password": imap_password, "smtp_password": smtp_password,
                           "dkim_private_key": dkim_private_key})  # fmt: skip
    validated(mailbox)
    _check_complete(mailbox)
    with events.announce(events.MAILBOX_CREATED, organization, actor, mailbox):
        mailbox.save()
    return mailbox


@tenant_atomic
def mailbox_update(
    *,
    organization: Organization,
    actor: User | None,
    mailbox: Mailbox,
    imap_password: str | None = None,
    smtp_password: str | None = None,
    dkim_private_key: str | None = None,
    **changes: Any,
) -> Mailbox:
    """Change any of EDITABLE; a secret that is None or empty keeps the stored one."""
    _ensure_admin(actor)
    current = _locked(organization, mailbox.pk)
    update = model_update(current, fields=EDITABLE, data=_normalized(dict(changes)))
    hidden = _set_secrets(current, {"imap_password": imap_password, "smtp_password": smtp_password,
                                    "dkim_private_key": dkim_private_key})  # fmt: skip
    if not update and not hidden:
        return current
    validated(current)
    _check_complete(current)
    with events.announce(
        events.MAILBOX_UPDATED, organization, actor, current, **update.changes, **hidden
    ):
        current.save(update_fields=[*update.fields, *hidden])
    current.refresh_from_db(fields=["updated_at"])
    return current


@tenant_atomic
def mailbox_soft_delete(
    *, organization: Organization, actor: User | None, mailbox: Mailbox
) -> Mailbox:
    """The mailbox stops receiving and sending; its messages stay with their tickets.

    Its address becomes free for a new mailbox (the address is unique among live ones).
    """
    _ensure_admin(actor)
    current = _locked(organization, mailbox.pk)
    with events.announce(events.MAILBOX_SOFT_DELETED, organization, actor, current):
        current.soft_delete(actor)
    return current


# ------------------------------------------------------------------ connection test
@dataclass(frozen=True)
class Answer:
    """What one server said: `ok` and its words (or why it could not be reached)."""

    service: str  # imap, smtp
    ok: bool
    text: str


@dataclass(frozen=True)
class TestResult:
    answers: list[Answer]

    @property
    def ok(self) -> bool:
        return all(answer.ok for answer in self.answers)

    @property
    def error(self) -> str:
        """The failing servers' answers, as stored in Mailbox.last_error."""
        return "\n".join(f"{a.service.upper()}: {a.text}" for a in self.answers if not a.ok)


def _words(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    if isinstance(value, (list, tuple)):
        return " ".join(_words(v) for v in value).strip()
    return str(value).strip()


def _failure(error: BaseException) -> str:
    """A connection failure in the server's or the system's own words."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_words(error.smtp_error)}"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"no answer within {TEST_TIMEOUT:g} seconds"
    text = _words(error.args[0] if len(error.args) == 1 else error.args) or type(error).__name__
    return text


def _imap_login(mailbox: Mailbox, password: str) -> str:
    # The fetcher's own client (deskbase.mail.imap), its folder opened read-only.
    return imap.check_login(mailbox, password, timeout=TEST_TIMEOUT)


class _PinnedSMTP(smtplib.SMTP):
    """smtplib's client connecting to the address checked by deskbase.mail.hosts; the
    host name stays for STARTTLS's certificate check."""

    def __init__(self, address: str, **kwargs: Any) -> None:
        self._address = address
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self._address, port), timeout)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(self, address: str, **kwargs: Any) -> None:
        self._address = address
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((self._address, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=host)


def _smtp_login(mailbox: Mailbox, password: str) -> str:
    context = ssl.create_default_context()
    host, port = mailbox.smtp_host, mailbox.smtp_port or 587
    address = hosts.resolve(host, port, field="smtp_host")
    client: smtplib.SMTP
    if mailbox.smtp_security == Security.TLS:
        client = _PinnedSMTPSSL(address, host=host, port=port, timeout=TEST_TIMEOUT,
                                context=context)  # fmt: skip
    else:
        client = _PinnedSMTP(address, host=host, port=port, timeout=TEST_TIMEOUT)
    try:
        code, banner = client.ehlo()
        answer = f"{code} {_words(banner).splitlines()[0] if banner else ''}".strip()
        if mailbox.smtp_security == Security.STARTTLS:
            client.starttls(context=context)
            client.ehlo()
        if mailbox.smtp_username:
            code, words = client.login(mailbox.smtp_username, password)
            answer = f"{code} {_words(words)}"
        return answer
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()


def _attempt(service: str, run: Callable[[], str]) -> Answer:
    try:
        return Answer(service, True, run())
    except crypto.SecretUnreadable as error:
        return Answer(service, False, str(error))
    except IMAPClientError as error:
        return Answer(service, False, imap.server_text(error))
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        return Answer(service, False, _failure(error))


def mailbox_test(*, organization: Organization, actor: User | None, mailbox: Mailbox) -> TestResult:
    """Log in to the IMAP server (IMAP mailboxes) and open the SMTP connection (when a
    server is set), then store the outcome: `last_error` holds the refusals, in the
    servers' words ("IMAP: [AUTHENTICATIONFAILED] Authentication failed."), blank when
    both worked; `last_checked_at` is now. No transaction is open while connecting."""
    _ensure_admin(actor)
    with tenant(organization, actor):
        current = Mailbox.objects.filter(organization_id=organization.id, pk=mailbox.pk).first()
    if current is None:
        raise NotFound(gettext("no such mailbox"), field="mailbox")
    answers: list[Answer] = []
    if current.inbound == Inbound.IMAP:
        answers.append(
            _attempt("imap", lambda: _imap_login(current, crypto.decrypt(current.imap_password)))
        )
    if current.smtp_host:
        answers.append(_attempt("smtp", lambda: _smtp_login(
            current, crypto.decrypt(current.smtp_password))))  # fmt: skip
    if not answers:
        raise ValidationFailed.one(
            "inbound", gettext("This mailbox has no IMAP or SMTP server to test.")
        )
    result = TestResult(answers)
    with tenant(organization, actor):
        Mailbox.objects.filter(organization_id=organization.id, pk=current.pk).update(
            last_error=result.error, last_checked_at=timezone.now()
        )
    return result
