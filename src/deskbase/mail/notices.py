"""The words of customer notifications: built-in defaults, an organization's own, rendering.

An organization writes in one language (`Organization.language`, "en" unless set)
and one time zone (`Organization.timezone`). Each notification (ticket received,
agent reply, ticket resolved) has a subject and a body with `{{ placeholder }}`
fields. An organization's own wording (mail.MailTemplate) wins; without one, the
built-in default of its language, else the English one. Placeholders are plain
substitutions from a fixed list per notification: nothing in a template can reach
an attribute, a method or another tenant's data.
"""

from __future__ import annotations

import html as html_lib
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext

from deskbase.core.errors import ValidationFailed
from deskbase.core.sanitize import text_to_html
from deskbase.mail.models import MailTemplate, TemplateKind
from deskbase.organizations.models import Organization

DEFAULT_LANGUAGE = "en"
LANGUAGES = {"en": "English", "de": "Deutsch"}
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

COMMON = ("organization", "ticket_number", "ticket_subject", "customer_name", "ticket_url")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    TemplateKind.RECEIVED: (*COMMON, "created_at"),
    TemplateKind.REPLY: (*COMMON, "agent_name", "reply"),
    TemplateKind.RESOLVED: (*COMMON, "resolved_at", "csat_url"),
    # To an agent (docs/notifications.md): what happened, by whom, when; `ticket_url` is
    # the desk's page of the ticket.
    TemplateKind.AGENT_NOTICE: (*COMMON, "event", "actor_name", "event_at", "settings_url"),
}
# A notification that cannot do without a field: a reply without the reply is lost.
REQUIRED: dict[str, tuple[str, ...]] = {TemplateKind.REPLY: ("reply",)}


@dataclass(frozen=True)
class Wording:
    subject: str
    body: str
    language: str
    custom: bool = False


DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        TemplateKind.RECEIVED: (
            "We received your request: {{ ticket_subject }}",
            "Hello {{ customer_name }},\n\n"
            "thank you for contacting {{ organization }}. We received your request on "
            "{{ created_at }} and will answer as soon as we can.\n\n"
            "Ticket #{{ ticket_number }}: {{ ticket_subject }}\n"
            "Follow it at {{ ticket_url }} or simply reply to this message.",
        ),
        TemplateKind.REPLY: (
            "Re: {{ ticket_subject }}",
            "{{ reply }}\n\n--\n{{ agent_name }}, {{ organization }}\n"
            "Ticket #{{ ticket_number }}: {{ ticket_url }}",
        ),
        TemplateKind.RESOLVED: (
            "Resolved: {{ ticket_subject }}",
            "Hello {{ customer_name }},\n\n"
            'your request #{{ ticket_number }} "{{ ticket_subject }}" was resolved on '
            "{{ resolved_at }}.\n\n"
            "How did we do? Rate our help: {{ csat_url }}\n\n"
            "If something is still missing, reply to this message and the ticket opens again.",
        ),
        TemplateKind.AGENT_NOTICE: (
            "[#{{ ticket_number }}] {{ event }}: {{ ticket_subject }}",
            "{{ event }} {{ actor_name }}, {{ event_at }}.\n\n"
            "#{{ ticket_number }}: {{ ticket_subject }} ({{ customer_name }})\n"
            "Open the ticket: {{ ticket_url }}\n\n--\n"
            "You get this mail by your notification settings: {{ settings_url }}",
        ),
    },
    "de": {
        TemplateKind.RECEIVED: (
            "Wir haben Ihre Anfrage erhalten: {{ ticket_subject }}",
            "Guten Tag {{ customer_name }},\n\n"
            "vielen Dank für Ihre Nachricht an {{ organization }}. Wir haben Ihre Anfrage am "
            "{{ created_at }} erhalten und antworten so bald wie möglich.\n\n"
            "Ticket #{{ ticket_number }}: {{ ticket_subject }}\n"
            "Verfolgen Sie es unter {{ ticket_url }} oder antworten Sie einfach auf diese "
            "Nachricht.",
        ),
        TemplateKind.REPLY: (
            "AW: {{ ticket_subject }}",
            "{{ reply }}\n\n--\n{{ agent_name }}, {{ organization }}\n"
            "Ticket #{{ ticket_number }}: {{ ticket_url }}",
        ),
        TemplateKind.RESOLVED: (
            "Gelöst: {{ ticket_subject }}",
            "Guten Tag {{ customer_name }},\n\n"
            "Ihre Anfrage #{{ ticket_number }} „{{ ticket_subject }}“ wurde am "
            "{{ resolved_at }} gelöst.\n\n"
            "Wie zufrieden sind Sie? Bewerten Sie unsere Hilfe: {{ csat_url }}\n\n"
            "Fehlt noch etwas, antworten Sie einfach auf diese Nachricht: "
            "das Ticket wird dann wieder geöffnet.",
        ),
        TemplateKind.AGENT_NOTICE: (
            "[#{{ ticket_number }}] {{ event }}: {{ ticket_subject }}",
            "{{ event }} {{ actor_name }}, {{ event_at }}.\n\n"
            "#{{ ticket_number }}: {{ ticket_subject }} ({{ customer_name }})\n"
            "Ticket öffnen: {{ ticket_url }}\n\n--\n"
            "Sie erhalten diese Mail gemäß Ihren Benachrichtigungseinstellungen: "
            "{{ settings_url }}",
        ),
    },
}

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
}  # fmt: skip


def language_of(organization: Organization) -> str:
    """The organization's language (`Organization.language`, the one its pages default to)
    when it is a known one, else English."""
    chosen = organization.language or DEFAULT_LANGUAGE
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def language_for(organization: Organization, person: Any) -> str:
    """The language of a mail to `person`: their own (User.language) when they chose one
    this catalog has, else the organization's (docs/i18n.md)."""
    own = getattr(person, "language", "") or ""
    return own if own in LANGUAGES else language_of(organization)


def wording(organization: Organization, kind: str, language: str | None = None) -> Wording:
    """The subject and body of `kind`: the organization's own, else the default (1 query)."""
    language = language or language_of(organization)
    own = MailTemplate.objects.filter(organization=organization, kind=kind, language=language)
    found = own.only("subject", "body").first()
    if found is not None:
        return Wording(found.subject, found.body, language, custom=True)
    return default_wording(kind, language)


def default_wording(kind: str, language: str) -> Wording:
    shipped = language if language in DEFAULTS else DEFAULT_LANGUAGE
    subject, body = DEFAULTS[shipped][kind]
    return Wording(subject, body, shipped)


def check(kind: str, *, subject: str, body: str) -> None:
    """Refuse a template naming an unknown placeholder or lacking a required one."""
    if kind not in PLACEHOLDERS:
        raise ValidationFailed.one(
            "kind", gettext("Unknown notification %(kind)r.") % {"kind": kind}
        )
    allowed = PLACEHOLDERS[kind]
    for field, text in (("subject", subject), ("body", body)):
        if not text.strip():
            raise ValidationFailed.one(
                field, gettext("The %(field)s cannot be empty.") % {"field": field}
            )
        for name in PLACEHOLDER.findall(text):
            if name not in allowed or (field == "subject" and name == "reply"):
                usable = ", ".join(
                    "{{ " + n + " }}" for n in allowed if n != "reply" or field == "body"
                )
                raise ValidationFailed.one(
                    field,
                    gettext("Unknown placeholder {{ %(name)s }}; use %(usable)s.")
                    % {"name": name, "usable": usable},
                )
    for name in REQUIRED.get(kind, ()):
        if name not in PLACEHOLDER.findall(body):
            raise ValidationFailed.one(
                "body", gettext("The body must contain {{ %(name)s }}.") % {"name": name}
            )


def render_text(template: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def render_html(template: str, values: dict[str, str], *, raw: dict[str, str]) -> str:
    """The body as HTML: text escaped, `raw` values (already sanitized HTML) as they are."""
    slots: list[str] = []

    def slot(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in raw:
            slots.append(raw[name])
        elif name.endswith("_url") and values.get(name):
            url = html_lib.escape(values[name], quote=True)
            slots.append(f'<a href="{url}">{url}</a>')
        else:
            slots.append(html_lib.escape(values.get(name, ""), quote=True))
        return f"\x00{len(slots) - 1}\x00"

    body = text_to_html(PLACEHOLDER.sub(slot, template))
    for index, content in enumerate(slots):
        marker = f"\x00{index}\x00"
        body = body.replace(f"<p>{marker}</p>", content).replace(marker, content)
    return body


def format_time(
    moment: datetime | None, organization: Organization, language: str, zone_name: str = ""
) -> str:
    """`3 December 2026, 18:08 CET` in the given time zone (the reader's, when they chose
    one), else the organization's, and in the language."""
    if moment is None:
        return ""
    try:
        zone = zoneinfo.ZoneInfo(zone_name or organization.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = moment.astimezone(zone)
    month = MONTHS.get(language, MONTHS["en"])[local.month - 1]
    zone_name = local.tzname() or organization.timezone
    if language == "de":
        return f"{local.day}. {month} {local.year}, {local:%H:%M} Uhr ({zone_name})"
    return f"{local.day} {month} {local.year}, {local:%H:%M} {zone_name}"
