"""A rule's definition: events, conditions and actions, checked when the rule is saved.

    {"events": ["ticket.updated"],                       # event rules only
     "conditions": {"all": [...]},                       # see automation.conditions
     "actions": [{"type": "set_priority", "priority": "urgent"}, ...]}

Every error names its path (`actions[2].team`, `conditions.all[0].op`) and is a 422.
A reference (team, agent, category, reply template) must be a row of the rule's own
organization: another tenant's id answers exactly like one that exists nowhere.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from deskbase.accounts.models import STAFF_ROLES
from deskbase.automation import actions, conditions
from deskbase.automation.conditions import Invalid
from deskbase.automation.models import Activator
from deskbase.core.errors import ValidationFailed

SLA_EVENTS = ("sla.at_risk", "sla.breached")
EVENTS = ("ticket.created", "ticket.updated", "comment.added", "mail.received", *SLA_EVENTS)
KEYS = {"events", "conditions", "actions"}


def normalized(activator: str, definition: Any) -> tuple[dict[str, Any], list]:
    """The definition with defaults filled in, and its references (path, kind, id);
    Invalid names the first bad path."""
    if activator not in Activator.values:
        raise Invalid(
            "activator",
            gettext("unknown activator %(activator)r; use one of %(choices)s")
            % {"activator": activator, "choices": ", ".join(Activator.values)},
        )
    if not isinstance(definition, dict):
        raise Invalid("definition", gettext("a definition is an object"))
    extra = sorted(set(definition) - KEYS)
    if extra:
        raise Invalid(extra[0], gettext("unknown key"))
    result = {
        "events": definition.get("events", []),
        "conditions": definition.get("conditions") or {"all": []},
        "actions": definition.get("actions"),
    }
    events = result["events"]
    if not isinstance(events, list) or not all(e in EVENTS for e in events):
        raise Invalid(
            "events",
            gettext("a list of events out of %(choices)s") % {"choices": ", ".join(EVENTS)},
        )
    result["events"] = list(dict.fromkeys(events))
    found = conditions.validate(result["conditions"])
    _check_activator(activator, result, found)
    actions.validate(result["actions"], found.refs)
    return result, found.refs


def _check_activator(activator: str, definition: dict, found: conditions.Leaves) -> None:
    if activator == Activator.EVENT:
        if not definition["events"]:
            raise Invalid("events", gettext("an event rule names the events that wake it"))
        if found.time:
            raise Invalid(found.time[0][0], gettext("time conditions belong to time rules"))
        if found.comment and definition["events"] != ["comment.added"]:
            raise Invalid(
                found.comment[0], gettext("comment conditions need events: [comment.added]")
            )
        if found.mail and definition["events"] != ["mail.received"]:
            raise Invalid(found.mail[0], gettext("mail conditions need events: [mail.received]"))
        if found.sla and not set(definition["events"]) <= set(SLA_EVENTS):
            raise Invalid(
                found.sla[0],
                gettext("SLA target conditions need events out of %(choices)s only")
                % {"choices": ", ".join(SLA_EVENTS)},
            )
        return
    if definition["events"]:
        raise Invalid(
            "events",
            gettext("only event rules have events, not %(activator)s rules")
            % {"activator": activator},
        )
    if found.change:
        raise Invalid(found.change[0][0], gettext("change conditions belong to event rules"))
    if found.comment or found.mail or found.sla:
        raise Invalid(
            (found.comment or found.mail or found.sla)[0],
            gettext("comment, mail and SLA target conditions belong to event rules"),
        )
    if activator == Activator.TIME and not found.time:
        raise Invalid("conditions", gettext("a time rule needs a time condition (its occurrence)"))
    if activator == Activator.MANUAL and (found.time or found.state):
        raise Invalid("conditions", gettext("a macro has no conditions: the agent decides"))


def check(organization_id: int, activator: str, definition: Any) -> dict[str, Any]:
    """normalized(), and every reference checked in the organization; ValidationFailed."""
    try:
        result, refs = normalized(activator, definition)
        check_references(organization_id, refs)
    except Invalid as error:
        raise ValidationFailed.one(error.path, error.message) from None
    return result


def check_references(organization_id: int, refs: list[tuple[str, str, Any]]) -> None:
    """One query per kind of reference (the caller's transaction has the tenant set)."""
    by_kind: dict[str, set[int]] = {}
    for _, kind, pk in refs:
        by_kind.setdefault(kind, set()).add(pk)
    existing: dict[str, set[int]] = {}
    for kind, ids in by_kind.items():
        model = actions.describe_refs_model(kind)
        rows = model._default_manager.filter(organization_id=organization_id, pk__in=ids)
        if kind == "agent":
            rows = rows.filter(role__in=STAFF_ROLES, is_active=True)
        if kind == "template":
            rows = rows.filter(owner__isnull=True)
        if kind == "sla_policy":
            rows = rows.filter(is_active=True)
        existing[kind] = set(rows.values_list("pk", flat=True))
    for path, kind, pk in refs:
        if pk not in existing[kind]:
            what = {"agent": "active agent", "template": "shared reply template",
                    "sla_policy": "active SLA policy",
                    "webhook": "webhook endpoint"}.get(kind, kind)  # fmt: skip
            raise Invalid(
                path,
                gettext("no %(what)s with id %(pk)s in this organization")
                % {"what": what, "pk": pk},
            )
