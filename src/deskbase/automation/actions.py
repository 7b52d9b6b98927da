"""Actions: their validation, and their application through the ticket services.

Every action is applied by the normal service (ticket_update, ticket_change_status,
ticket_assign, comment_add), so history, SLA, search, mail and the events (and so the
later rules) stay right. Each action runs in a savepoint of its own: one that fails
(a team deleted since the rule was saved, a status the ticket cannot take) is undone
and recorded on the firing, and the others still apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.automation.conditions import Invalid
from deskbase.core import events
from deskbase.core.errors import ValidationFailed
from deskbase.organizations.models import Organization
from deskbase.sla.models import SlaPolicy
from deskbase.tickets import canned
from deskbase.tickets import services as tickets
from deskbase.tickets.models import CannedResponse, CommentKind, Priority, Status, Ticket

MAX_ACTIONS = 20

# type -> {key: kind}; kinds: status, priority, ref:<what>, tags, text, name, value, bool
ACTIONS: dict[str, dict[str, str]] = {
    "set_status": {"status": "status"},
    "set_priority": {"priority": "priority"},
    "set_team": {"team": "ref:team?"},
    "set_assignee": {"assignee": "ref:agent?", "auto": "bool"},
    "add_tags": {"tags": "tags"},
    "remove_tags": {"tags": "tags"},
    "set_custom_field": {"name": "name", "value": "value"},
    "add_note": {"body": "text"},
    "send_reply": {"template": "ref:template"},
    "apply_sla": {"policy": "ref:sla_policy"},
    "call_webhook": {"endpoint": "ref:webhook"},
}
REQUIRED = {
    "set_status": {"status"}, "set_priority": {"priority"}, "set_team": {"team"},
    "set_assignee": set(), "add_tags": {"tags"}, "remove_tags": {"tags"},
    "set_custom_field": {"name", "value"}, "add_note": {"body"}, "send_reply": {"template"},
    "apply_sla": {"policy"}, "call_webhook": {"endpoint"},
}  # fmt: skip
# The type of the message a rule sends to a webhook endpoint (docs/automation.md).
WEBHOOK_TYPE = "rule.fired"


def validate(actions: Any, refs: list[tuple[str, str, Any]]) -> None:
    """Check the action list; references go to `refs` as (path, kind, id)."""
    if not isinstance(actions, list) or not actions:
        raise Invalid("actions", gettext("a rule needs a list of 1 or more actions"))
    if len(actions) > MAX_ACTIONS:
        raise Invalid(
            "actions", gettext("at most %(max_actions)s actions") % {"max_actions": MAX_ACTIONS}
        )
    for index, action in enumerate(actions):
        path = f"actions[{index}]"
        if not isinstance(action, dict):
            raise Invalid(path, gettext("an action is an object"))
        kind = action.get("type")
        if kind not in ACTIONS:
            raise Invalid(
                f"{path}.type",
                gettext("unknown action %(kind)r; use one of %(choices)s")
                % {"kind": kind, "choices": ", ".join(ACTIONS)},
            )
        keys = ACTIONS[kind]
        for key in action:
            if key != "type" and key not in keys:
                raise Invalid(f"{path}.{key}", gettext("unknown key"))
        for key in REQUIRED[kind]:
            if key not in action:
                raise Invalid(f"{path}.{key}", gettext("required"))
        if kind == "set_assignee" and ("assignee" in action) == bool(action.get("auto")):
            raise Invalid(
                f"{path}.assignee", gettext("name an assignee (or null) or set auto: true")
            )
        for key, value in action.items():
            if key != "type":
                _check(keys[key], value, f"{path}.{key}", refs)


def _check(kind: str, value: Any, path: str, refs: list[tuple[str, str, Any]]) -> None:
    if kind == "status" and value not in Status.values:
        raise Invalid(path, gettext("unknown status %(value)r") % {"value": value})
    if kind == "priority" and value not in Priority.values:
        raise Invalid(path, gettext("unknown priority %(value)r") % {"value": value})
    if kind.startswith("ref:"):
        what = kind[4:].rstrip("?")
        if value is None and kind.endswith("?"):
            return
        if type(value) is not int or value <= 0:
            raise Invalid(path, gettext("a %(replace)s id") % {"replace": what.replace("_", " ")})
        refs.append((path, what, value))
    if kind == "tags" and (not isinstance(value, list) or not value or len(value) > 50
                           or not all(isinstance(t, str) and 0 < len(t.strip()) <= 50
                                      for t in value)):  # fmt: skip
        raise Invalid(path, gettext("a list of 1 to 50 tags of 1 to 50 characters"))
    if kind == "text" and (not isinstance(value, str) or not value.strip()
                           or len(value) > 10_000):  # fmt: skip
        raise Invalid(path, gettext("a text of 1 to 10,000 characters"))
    if kind == "name" and (not isinstance(value, str) or not 0 < len(value) <= 100):
        raise Invalid(path, gettext("a custom field name of 1 to 100 characters"))
    if kind == "value" and not (value is None or isinstance(value, str | int | float | bool)):
        raise Invalid(path, gettext("a text, number, true/false or null"))
    if kind == "bool" and not isinstance(value, bool):
        raise Invalid(path, gettext("true or false"))


# ------------------------------------------------------------------ applying
@dataclass
class Applied:
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def apply_all(
    actions: list[dict], *, organization: Organization, actor: User | None, ticket: Ticket,
    rule: tuple[int, int, str] | None = None,
) -> Applied:  # fmt: skip
    """Apply each action in a savepoint; record what changed and what failed.

    `rule`: (id, version, name) of the rule firing (a macro: None), which a webhook's
    message names and its delivery key derives from.
    """
    applied = Applied()
    if actor is None:
        applied.errors.append("the rule has no author who may act (saved by a removed person)")
        return applied
    for index, action in enumerate(actions):
        try:
            with transaction.atomic():
                if action["type"] == "call_webhook":
                    said = _webhook(action, index, organization=organization, ticket=ticket,
                                    rule=rule)  # fmt: skip
                else:
                    said = _apply(action, organization=organization, actor=actor, ticket=ticket)
        except Exception as error:  # recorded on the firing, never the triggering user's 500
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            applied.errors.append(f"actions[{index}] ({action['type']}): {message}")
        else:
            if said:
                applied.changes.append(said)
    return applied


def _fresh(ticket: Ticket) -> Ticket:
    """The ticket as stored now (an earlier action or a later rule may have changed it)."""
    return Ticket.objects.select_related("customer").get(pk=ticket.pk)


def _apply(action: dict, *, organization: Organization, actor: User, ticket: Ticket) -> str:
    kind = action["type"]
    current = _fresh(ticket)
    common = {"organization": organization, "actor": actor, "ticket": current}
    if kind == "set_status":
        if current.status == action["status"]:
            return ""
        tickets.ticket_change_status(**common, status=action["status"], reason="rule")
        return f"set status to {action['status']}"
    if kind == "set_assignee":
        if action.get("auto"):
            done = tickets.ticket_assign(**common, auto=True)
            return f"assigned automatically to {done.assignee.full_name or done.assignee.email}"
        assignee = _row(User, action["assignee"], "assignee") if action["assignee"] else None
        if current.assignee_id == (assignee.id if assignee else None):
            return ""
        tickets.ticket_assign(**common, assignee=assignee)
        return f"assigned to {assignee.full_name or assignee.email}" if assignee else "unassigned"
    if kind == "apply_sla":
        policy = _row(SlaPolicy, action["policy"], "policy")
        if current.sla_policy_id == policy.pk:
            return ""
        tickets.ticket_apply_sla_policy(**common, policy=policy)
        return f"applied SLA policy {policy.name}"
    if kind in ("add_note", "send_reply"):
        return _comment(action, common, organization=organization, actor=actor)
    return _update(action, common, current)


def _webhook(
    action: dict, index: int, *, organization: Organization, ticket: Ticket,
    rule: tuple[int, int, str] | None,
) -> str:  # fmt: skip
    """One signed message to the endpoint, through the outbox, in the write's transaction.

    The key is the rule, the ticket, this transaction and the action's place: a rule
    fires once per event cycle (one transaction), so a repeat of the same firing is
    never sent twice, and every other firing is its own message.
    """
    from deskbase.webhooks import payloads
    from deskbase.webhooks import services as webhooks

    current = _fresh(ticket)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text")
        xact = cursor.fetchone()[0]
    rule_id, version, name = rule if rule is not None else (0, 0, "")
    # The ticket as the API shows it (the representation the ticket events carry).
    ticket_data = payloads.build(
        events.Event(events.TICKET_UPDATED.name, organization.id, None, current)
    ).get("ticket", {"id": current.pk})
    sent = webhooks.send_event(
        organization=organization, endpoint=action["endpoint"], event_type=WEBHOOK_TYPE,
        data={"rule": {"id": rule_id, "version": version, "name": name},
              "ticket": ticket_data},
        key=f"rule:{rule_id}:ticket:{current.pk}:xact:{xact}:action:{index}",
    )  # fmt: skip
    return f"called webhook endpoint {action['endpoint']}" if sent else ""


def _row(model: Any, pk: int, name: str) -> Any:
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise ValidationFailed.one(
            name, gettext("no such %(name)s any more (id %(pk)s)") % {"name": name, "pk": pk}
        )
    return found


def _update(action: dict, common: dict, current: Ticket) -> str:
    from deskbase.accounts.models import Team

    kind = action["type"]
    change: dict[str, Any]
    if kind == "set_priority":
        change, said = {"priority": action["priority"]}, f"set priority to {action['priority']}"
    elif kind == "set_team":
        team = _row(Team, action["team"], "team") if action["team"] else None
        change, said = {"team": team}, f"set team to {team.name if team else 'none'}"
    elif kind in ("add_tags", "remove_tags"):
        wanted = [t.strip().lower() for t in action["tags"]]
        if kind == "add_tags":
            tags = list(dict.fromkeys([*current.tags, *wanted]))
        else:
            tags = [t for t in current.tags if t not in wanted]
        verb = "added" if kind == "add_tags" else "removed"
        change, said = {"tags": tags}, f"{verb} tags {', '.join(wanted)}"
    else:  # set_custom_field
        fields = dict(current.custom_fields or {})
        fields[action["name"]] = action["value"]
        change = {"custom_fields": fields}
        said = f"set custom field {action['name']} to {action['value']}"
    before = current.version
    done = tickets.ticket_update(**common, version=current.version, **change)
    return said if done.version != before else ""


def _comment(action: dict, common: dict, *, organization: Organization, actor: User) -> str:
    if action["type"] == "add_note":
        tickets.comment_add(**common, body=action["body"], kind=CommentKind.INTERNAL)
        return "added an internal note"
    template = CannedResponse.objects.filter(pk=action["template"], owner__isnull=True).first()
    if template is None:
        raise ValidationFailed.one(
            "template",
            gettext("The reply template %(template)s no longer exists.")
            % {"template": action["template"]},
        )
    full = Organization.objects.get(pk=organization.pk)
    body = canned.render_body(
        template.body, ticket=common["ticket"], agent=actor, organization=full
    )
    tickets.comment_add(**common, body=body, kind=CommentKind.PUBLIC)
    return f"sent the reply {template.name!r} to the requester"


def describe_refs_model(kind: str) -> Any:
    """The model a reference kind names (for the save-time check)."""
    from deskbase.accounts.models import Team
    from deskbase.tickets.models import Category
    from deskbase.webhooks.models import Endpoint

    return {"team": Team, "agent": User, "category": Category, "template": CannedResponse,
            "sla_policy": SlaPolicy, "webhook": Endpoint}[kind]  # fmt: skip
