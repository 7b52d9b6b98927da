"""A saved view's filters (the ticket list's query, as JSON) as the selectors' TicketFilters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import ValidationFailed
from deskbase.tickets.models import Channel, Priority, Status
from deskbase.tickets.selectors import MAX_CUSTOM_FILTERS, TicketFilters, custom_matches

KNOWN = (
    "status", "priority", "assignee", "team", "customer", "tag", "category", "channel", "sla",
    "created_after", "created_before", "updated_after", "updated_before", "cf",
)  # fmt: skip


def _bad(name: str, message: str) -> ValidationFailed:
    return ValidationFailed.one(f"filters.{name}", message)


def _choices(data: dict[str, Any], name: str, allowed: list[str]) -> tuple[str, ...]:
    raw = data.get(name) or []
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or any(v not in allowed for v in values):
        raise _bad(name, gettext("Use a list of: %(choices)s.") % {"choices": ", ".join(allowed)})
    return tuple(values)


def _id(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if type(value) is not int or not 0 < value < 2**63:
        raise _bad(name, gettext("An id is a positive whole number."))
    return value


def _time(data: dict[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise _bad(name, gettext("An ISO 8601 time with its offset.")) from None
    if parsed.tzinfo is None:
        raise _bad(name, gettext("An ISO 8601 time with its offset."))
    return parsed


def filters_from(data: Any, actor: User) -> TicketFilters:
    """The filters of a saved view; a bad one is refused naming `filters.<name>`."""
    if not isinstance(data, dict):
        raise ValidationFailed.one("filters", gettext("Filters are a JSON object."))
    unknown = sorted(set(data) - set(KNOWN))
    if unknown:
        raise _bad(
            unknown[0], gettext("Unknown filter; use %(choices)s.") % {"choices": ", ".join(KNOWN)}
        )
    assignee = data.get("assignee")
    if assignee is not None and (
        not isinstance(assignee, str | int)
        or (str(assignee) not in ("me", "unassigned") and not str(assignee).isdigit())
    ):
        raise _bad("assignee", gettext("Use me, unassigned or an agent's id."))
    tag = data.get("tag")
    if tag is not None and (not isinstance(tag, str) or len(tag) > 50):
        raise _bad("tag", gettext("A tag is text of at most 50 characters."))
    sla = data.get("sla")
    if sla not in (None, "breached", "at_risk"):
        raise _bad("sla", gettext("Use breached or at_risk."))
    channel = data.get("channel")
    if channel is not None and channel not in Channel.values:
        raise _bad(
            "channel", gettext("Use one of: %(choices)s.") % {"choices": ", ".join(Channel.values)}
        )
    cf = data.get("cf") or {}
    if not isinstance(cf, dict) or len(cf) > MAX_CUSTOM_FILTERS:
        raise _bad(
            "cf",
            gettext("Custom fields are an object of at most %(max_custom_filters)s names.")
            % {"max_custom_filters": MAX_CUSTOM_FILTERS},
        )
    custom = []
    for name, value in sorted(cf.items()):
        if not isinstance(value, str | int | float | bool):
            raise _bad(
                f"cf.{name}", gettext("A custom field value is text, a number or a boolean.")
            )
        text = str(value).lower() if isinstance(value, bool) else str(value)
        custom_matches(name, text)
        custom.append((name, text))
    return TicketFilters(
        status=_choices(data, "status", Status.values),
        priority=_choices(data, "priority", Priority.values),
        assignee=None if assignee is None else str(assignee),
        team_id=_id(data, "team"), customer_id=_id(data, "customer"),
        category_id=_id(data, "category"), tag=tag or None, channel=channel, sla=sla,
        created_after=_time(data, "created_after"), created_before=_time(data, "created_before"),
        updated_after=_time(data, "updated_after"), updated_before=_time(data, "updated_before"),
        custom=tuple(custom),
    )  # fmt: skip


def filters_as_json(filters: TicketFilters) -> dict[str, Any]:
    """TicketFilters as a saved view stores them (the inverse of `filters_from`)."""
    out: dict[str, Any] = {}
    if filters.status:
        out["status"] = list(filters.status)
    if filters.priority:
        out["priority"] = list(filters.priority)
    for name, key in (("assignee", "assignee"), ("team_id", "team"), ("customer_id", "customer"),
                      ("category_id", "category"), ("tag", "tag"), ("channel", "channel"),
                      ("sla", "sla")):  # fmt: skip
        value = getattr(filters, name)
        if value is not None:
            out[key] = value
    for name in ("created_after", "created_before", "updated_after", "updated_before"):
        value = getattr(filters, name)
        if value is not None:
            out[name] = value.isoformat()
    if filters.custom:
        out["cf"] = dict(filters.custom)
    return out
