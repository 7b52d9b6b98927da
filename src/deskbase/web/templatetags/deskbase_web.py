"""Template helpers: sanitized bodies and SLA badges."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from deskbase.core.sanitize import clean_html
from deskbase.tickets.models import ACTIVE_STATUSES
from deskbase.tickets.selectors import AT_RISK_WINDOW

register = template.Library()
NONE = "\u2013"  # an en dash: no value


@register.filter
def sanitized(html: str | None) -> SafeString:
    """A stored body, sanitized again on the way out.

    Bodies are sanitized when written; rows loaded in bulk or written before a
    rule changed pass through the same allowlist here, so the page never trusts
    the database with markup.
    """
    return mark_safe(clean_html(html or ""))  # noqa: S308 - the output of the sanitizer


def _left(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes < 60:
        return gettext("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return gettext("%(hours)s h %(minutes)s") % {"hours": hours, "minutes": f"{minutes:02d}"}
    return gettext("%(days)s d %(hours)s h") % {"days": hours // 24, "hours": hours % 24}


@register.inclusion_tag("web/parts/sla_badge.html")
def sla_badge(ticket, now: datetime | None = None) -> dict:
    """The SLA state of a ticket: breached, paused, at risk or on track, with the time left."""
    now = now or timezone.now()
    due = ticket.first_response_due_at if ticket.first_response_at is None else None
    target = gettext("first response")
    if due is None:
        due, target = ticket.resolution_due_at, gettext("resolution")
    if ticket.status not in ACTIVE_STATUSES:
        state, text = "done", gettext("met") if not ticket.sla_breach else gettext("breached")
    elif ticket.sla_breach or (due is not None and due <= now):
        state, text = "breached", gettext("%(target)s breached") % {"target": target}
        if due is not None and due <= now:
            text = gettext("%(target)s breached, %(late)s late") % {
                "target": target,
                "late": _left(now - due),
            }
    elif ticket.sla_paused_at is not None:
        state, text = "paused", gettext("SLA paused")
    elif due is None:
        state, text = "none", gettext("no SLA")
    else:
        state = "at-risk" if due - now <= AT_RISK_WINDOW else "ok"
        text = gettext("%(target)s due in %(left)s") % {"target": target, "left": _left(due - now)}
    return {"state": state, "text": text, "due": due}


@register.filter
def duration_text(seconds: float | None) -> str:
    """An average time in seconds as "3 h 05" / "12 min"; a dash when there is none."""
    if seconds is None:
        return NONE
    return _left(timedelta(seconds=float(seconds)))


@register.filter
def percent_text(value: float | None) -> str:
    return NONE if value is None else f"{value:g} %"  # the same in English and German


@register.inclusion_tag("web/parts/bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict:
    """The header's bell: one query for the unread count (docs/notifications.md).

    An error page rendered after a failed statement cannot query (the request's
    transaction waits for its rollback): its bell shows no count until its next poll.
    """
    from django.db import connection

    from deskbase.web.views.my_notifications import bell_context, poll_seconds

    if connection.needs_rollback:
        return {"unread": 0, "unread_shown": "", "poll_seconds": poll_seconds()}
    return bell_context(context["user"])
