"""Sending through a mailbox's SMTP server, with a timeout, telling permanent refusals apart.

`send` raises `PermanentRefusal` (with the server's answer) when the server refused
the message for good (a 5xx reply to the sender, every recipient, or the data):
sending it again cannot help, so the outbound message is marked failed. Any other
failure (unreachable, timeout, a 4xx "try later", a refused login) raises as it is
and the outbox tries again later.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence

from django.conf import settings

from deskbase.mail import crypto
from deskbase.mail.models import Mailbox, Security

DEFAULT_TIMEOUT_SECONDS = 10.0


class PermanentRefusal(Exception):
    """The server refused the message with a 5xx answer; the text is its answer."""


def _answer(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


def _connect(mailbox: Mailbox, timeout: float) -> smtplib.SMTP:
    host, port = mailbox.smtp_host, mailbox.smtp_port or 25
    local_name = mailbox.address.rpartition("@")[2] or "localhost"  # no slow getfqdn()
    if mailbox.smtp_security == Security.TLS:
        return smtplib.SMTP_SSL(host, port, local_hostname=local_name, timeout=timeout,
                                context=ssl.create_default_context())  # fmt: skip
    client = smtplib.SMTP(host, port, local_hostname=local_name, timeout=timeout)
    if mailbox.smtp_security == Security.STARTTLS:
        client.ehlo()
        client.starttls(context=ssl.create_default_context())
        client.ehlo()
    return client


def send(
    mailbox: Mailbox, *, sender: str, recipients: Sequence[str], data: bytes
) -> dict[str, str]:
    """Send `data`; the recipients the server refused (address -> answer) while taking others."""
    timeout = float(getattr(settings, "MAIL_SMTP_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
    client = _connect(mailbox, timeout)
    try:
        if mailbox.smtp_username:
            client.login(mailbox.smtp_username, crypto.decrypt(mailbox.smtp_password))
        try:
            refused = client.sendmail(sender, list(recipients), data)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = {a: _answer(code, text) for a, (code, text) in exc.recipients.items()}
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise PermanentRefusal("; ".join(f"{a}: {t}" for a, t in answers.items())) from None
            raise
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            if exc.smtp_code >= 500:
                raise PermanentRefusal(_answer(exc.smtp_code, exc.smtp_error)) from None
            raise
        return {a: _answer(code, text) for a, (code, text) in refused.items()}
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
