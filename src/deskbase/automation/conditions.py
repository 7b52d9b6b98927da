"""Conditions: their vocabulary, their validation, and their evaluation with reasons.

A condition is a group or a leaf (docs/automation.md):

- a group: `{"all": [...]}` or `{"any": [...]}`, nested at most 3 deep;
- a state leaf: `{"field": "ticket.priority", "op": "is", "value": "high"}`: how
  things are now;
- a change leaf: `{"changed": "ticket.status", "from": "pending", "to": "open"}`,
  `{"changed": "comment.added", "by": "customer"}`: what the event that woke the rule
  changed (event rules only);
- a time leaf: `{"time": "ticket.last_customer_reply_at", "op": "older_than",
  "minutes": 180, "business": true}`: ages and due times (time rules only).

State and change are separate keys, so "priority is high" can never be mistaken for
"priority changed to high". Each leaf evaluates to an Outcome with a sentence that
says why it did or did not match; a firing keeps the sentences of the leaves that
matched, "test this rule" shows them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model
from django.utils.translation import gettext

from deskbase.accounts.models import STAFF_ROLES
from deskbase.tickets.models import Channel, CommentKind, Priority, Status

MAX_DEPTH = 3
MAX_LEAVES = 50

CHOICE, REF, TEXT, TAGS, BOOL, CUSTOM = "choice", "ref", "text", "tags", "bool", "custom"
OPERATORS: dict[str, tuple[str, ...]] = {
    CHOICE: ("is", "is_not", "one_of", "not_one_of"),
    REF: ("is", "is_not", "one_of", "not_one_of", "is_set", "not_set"),
    TEXT: ("is", "is_not", "contains", "not_contains", "starts_with", "ends_with", "is_set",
           "not_set"),
    TAGS: ("includes", "excludes"),
    BOOL: ("is",),
    CUSTOM: ("is", "is_not", "contains", "not_contains", "is_set", "not_set"),
}  # fmt: skip
NO_VALUE = ("is_set", "not_set")
OP_WORDS = {
    "is": "is", "is_not": "is not", "one_of": "is one of", "not_one_of": "is none of",
    "contains": "contains", "not_contains": "does not contain", "starts_with": "starts with",
    "ends_with": "ends with", "is_set": "is set", "not_set": "is not set",
    "includes": "includes", "excludes": "excludes",
}  # fmt: skip


@dataclass(frozen=True)
class FieldSpec:
    kind: str
    label: str
    verb: str = "was"  # "priority was high" (at the time the rule looked)
    choices: tuple[str, ...] = ()
    ref: str = ""  # team, user, category: checked when the rule is saved
    comment: bool = False  # needs the comment of a comment.added event
    mail: bool = False  # needs the message of a mail.received event
    sla: bool = False  # needs the alert of an sla.at_risk / sla.breached event


FIELDS: dict[str, FieldSpec] = {
    "ticket.status": FieldSpec(CHOICE, "status", choices=tuple(Status.values)),
    "ticket.priority": FieldSpec(CHOICE, "priority", choices=tuple(Priority.values)),
    "ticket.channel": FieldSpec(CHOICE, "channel", choices=tuple(Channel.values)),
    "ticket.team": FieldSpec(REF, "team", ref="team"),
    "ticket.assignee": FieldSpec(REF, "assignee", ref="agent"),
    "ticket.category": FieldSpec(REF, "category", ref="category"),
    "ticket.tags": FieldSpec(TAGS, "tags"),
    "ticket.subject": FieldSpec(TEXT, "subject"),
    "ticket.description": FieldSpec(TEXT, "description"),
    "ticket.sla_breach": FieldSpec(BOOL, "SLA breached"),
    "requester.email": FieldSpec(TEXT, "requester e-mail", verb="is"),
    "requester.email_domain": FieldSpec(TEXT, "requester domain", verb="is"),
    "requester.name": FieldSpec(TEXT, "requester name", verb="is"),
    "requester.tier": FieldSpec(CHOICE, "requester tier", verb="is",
                                choices=("basic", "premium", "enterprise")),
    "comment.author_kind": FieldSpec(CHOICE, "comment author", verb="is",
                                     choices=("customer", "staff", "system"), comment=True),
    "comment.kind": FieldSpec(CHOICE, "comment kind", verb="is",
                              choices=("public", "internal"), comment=True),
    "comment.body": FieldSpec(TEXT, "comment", verb="is", comment=True),
    "mail.kind": FieldSpec(CHOICE, "mail classification", verb="is",
                           choices=("normal", "loop", "bounce", "auto_reply", "bulk"), mail=True),
    "mail.sender": FieldSpec(TEXT, "mail sender", verb="is", mail=True),
    "mail.subject": FieldSpec(TEXT, "mail subject", verb="is", mail=True),
    "sla.target": FieldSpec(CHOICE, "SLA target", verb="is",
                            choices=("first_response", "resolution"), sla=True),
}  # fmt: skip
CUSTOM_PREFIX = "ticket.custom_fields."

# What a change leaf may name: the event's changes key, and the kind of its values.
CHANGES: dict[str, FieldSpec] = {
    "ticket.status": FIELDS["ticket.status"],
    "ticket.priority": FIELDS["ticket.priority"],
    "ticket.team": FIELDS["ticket.team"],
    "ticket.assignee": FIELDS["ticket.assignee"],
    "ticket.category": FIELDS["ticket.category"],
    "ticket.subject": FIELDS["ticket.subject"],
    "ticket.tags": FIELDS["ticket.tags"],
    "comment.added": FieldSpec(CHOICE, "comment", choices=("customer", "staff")),
}

# Time leaves: past instants take older_than; due instants take due_within / overdue.
PAST_TIMES = {
    "ticket.created_at": "created",
    "ticket.updated_at": "last updated",
    "ticket.last_customer_reply_at": "last customer reply",
}
DUE_TIMES = {
    "ticket.first_response_due_at": "first response due",
    "ticket.resolution_due_at": "resolution due",
}
TIME_OPS = {"older_than": PAST_TIMES, "due_within": DUE_TIMES, "overdue": DUE_TIMES}
MAX_MINUTES = 60 * 24 * 366


class Invalid(Exception):
    """A definition error at `path` (e.g. `conditions.all[2].op`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# ------------------------------------------------------------------ validation
@dataclass
class Leaves:
    """What validation found, for the checks the activator makes and the references."""

    state: list[tuple[str, dict]] = field(default_factory=list)
    change: list[tuple[str, dict]] = field(default_factory=list)
    time: list[tuple[str, dict]] = field(default_factory=list)
    refs: list[tuple[str, str, Any]] = field(default_factory=list)  # (path, kind, id)
    comment: list[str] = field(default_factory=list)  # paths of leaves on the comment
    mail: list[str] = field(default_factory=list)  # paths of leaves on the message
    sla: list[str] = field(default_factory=list)  # paths of leaves on the SLA alert


def validate(node: Any, path: str = "conditions", depth: int = 1,
             found: Leaves | None = None) -> Leaves:  # fmt: skip
    """Check a condition tree; raise Invalid naming the first bad path."""
    found = found if found is not None else Leaves()
    if not isinstance(node, dict):
        raise Invalid(path, gettext("a condition is an object"))
    group = [key for key in ("all", "any") if key in node]
    if group:
        if len(node) != 1:
            raise Invalid(path, gettext("a group has one key, all or any, and nothing else"))
        key = group[0]
        if depth > MAX_DEPTH:
            raise Invalid(
                path, gettext("groups nest at most %(max_depth)s deep") % {"max_depth": MAX_DEPTH}
            )
        items = node[key]
        if not isinstance(items, list):
            raise Invalid(f"{path}.{key}", gettext("a group holds a list of conditions"))
        for index, item in enumerate(items):
            validate(item, f"{path}.{key}[{index}]", depth + 1, found)
        if len(found.state) + len(found.change) + len(found.time) > MAX_LEAVES:
            raise Invalid(
                path, gettext("at most %(max_leaves)s conditions") % {"max_leaves": MAX_LEAVES}
            )
        return found
    if "field" in node:
        _state_leaf(node, path, found)
    elif "changed" in node:
        _change_leaf(node, path, found)
    elif "time" in node:
        _time_leaf(node, path, found)
    else:
        raise Invalid(path, gettext("expected all, any, field, changed or time"))
    return found


def _only(node: dict, path: str, allowed: set[str]) -> None:
    extra = sorted(set(node) - allowed)
    if extra:
        raise Invalid(f"{path}.{extra[0]}", gettext("unknown key"))


def field_spec(name: Any, path: str) -> FieldSpec:
    if isinstance(name, str) and name.startswith(CUSTOM_PREFIX):
        key = name.removeprefix(CUSTOM_PREFIX)
        if not key or len(key) > 100:
            raise Invalid(path, gettext("a custom field needs a name of at most 100 characters"))
        return FieldSpec(CUSTOM, f"custom field {key}")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise Invalid(
            path,
            gettext("unknown field %(name)r; known: %(choices)s, %(custom_prefix)s<name>")
            % {"name": name, "choices": ", ".join(sorted(FIELDS)), "custom_prefix": CUSTOM_PREFIX},
        )
    return spec


def _state_leaf(node: dict, path: str, found: Leaves) -> None:
    _only(node, path, {"field", "op", "value"})
    spec = field_spec(node["field"], f"{path}.field")
    op = node.get("op")
    if op not in OPERATORS[spec.kind]:
        raise Invalid(
            f"{path}.op",
            gettext("unknown operator %(op)r for %(field)s; use one of %(choices)s")
            % {"op": op, "field": node["field"], "choices": ", ".join(OPERATORS[spec.kind])},
        )
    if op in NO_VALUE:
        if "value" in node:
            raise Invalid(f"{path}.value", gettext("%(op)s takes no value") % {"op": op})
    else:
        if "value" not in node:
            raise Invalid(f"{path}.value", gettext("a value is required"))
        _check_value(spec, op, node["value"], f"{path}.value", found)
    if spec.comment:
        found.comment.append(path)
    if spec.mail:
        found.mail.append(path)
    if spec.sla:
        found.sla.append(path)
    found.state.append((path, node))


def _check_value(spec: FieldSpec, op: str, value: Any, path: str, found: Leaves) -> None:
    many = op in ("one_of", "not_one_of") or (spec.kind == TAGS and isinstance(value, list))
    values = value if many else [value]
    if many and (not isinstance(value, list) or not value or len(value) > 100):
        raise Invalid(path, gettext("a list of 1 to 100 values"))
    for index, item in enumerate(values):
        at = f"{path}[{index}]" if many else path
        if spec.kind == CHOICE and item not in spec.choices:
            raise Invalid(
                at,
                gettext("unknown value %(item)r; use one of %(choices)s")
                % {"item": item, "choices": ", ".join(spec.choices)},
            )
        if spec.kind == REF:
            if type(item) is not int or item <= 0:
                raise Invalid(at, gettext("a %(ref)s id") % {"ref": spec.ref})
            found.refs.append((at, spec.ref, item))
        if spec.kind in (TEXT, TAGS) and (not isinstance(item, str) or not item.strip()
                                          or len(item) > 500):  # fmt: skip
            raise Invalid(at, gettext("a text of 1 to 500 characters"))
        if spec.kind == BOOL and not isinstance(item, bool):
            raise Invalid(at, gettext("true or false"))
        if spec.kind == CUSTOM and not isinstance(item, str | int | float | bool):
            raise Invalid(at, gettext("a text, number or true/false"))


def _change_leaf(node: dict, path: str, found: Leaves) -> None:
    name = node["changed"]
    spec = CHANGES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise Invalid(
            f"{path}.changed",
            gettext("unknown change %(name)r; known: %(choices)s")
            % {"name": name, "choices": ", ".join(sorted(CHANGES))},
        )
    if name == "comment.added":
        _only(node, path, {"changed", "by"})
        if "by" in node:
            _check_value(spec, "is", node["by"], f"{path}.by", found)
    else:
        _only(node, path, {"changed", "from", "to"})
        for key in ("from", "to"):
            if key in node and node[key] is not None:
                _check_value(spec, "is", node[key], f"{path}.{key}", found)
    found.change.append((path, node))


def _time_leaf(node: dict, path: str, found: Leaves) -> None:
    _only(node, path, {"time", "op", "minutes", "business"})
    op = node.get("op")
    if op not in TIME_OPS:
        raise Invalid(
            f"{path}.op",
            gettext("unknown operator %(op)r; use one of %(choices)s")
            % {"op": op, "choices": ", ".join(TIME_OPS)},
        )
    if node["time"] not in TIME_OPS[op]:
        raise Invalid(
            f"{path}.time",
            gettext("%(op)s takes one of %(choices)s")
            % {"op": op, "choices": ", ".join(TIME_OPS[op])},
        )
    minutes = node.get("minutes", 0 if op == "overdue" else None)
    if type(minutes) is not int or not 0 <= minutes <= MAX_MINUTES:
        raise Invalid(
            f"{path}.minutes",
            gettext("whole minutes from 0 to %(max_minutes)s") % {"max_minutes": MAX_MINUTES},
        )
    if op == "overdue" and minutes:
        raise Invalid(f"{path}.minutes", gettext("overdue takes no minutes"))
    if not isinstance(node.get("business", False), bool):
        raise Invalid(f"{path}.business", gettext("true or false"))
    found.time.append((path, node))


# ------------------------------------------------------------------ evaluation
@dataclass
class Outcome:
    path: str
    matched: bool
    text: str  # "priority was high", "status is open, not pending"
    value: Any = None


@dataclass
class Facts:
    """What conditions read: the ticket now, and the event that woke the rule."""

    ticket: Any
    now: datetime
    event: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    comment: Any = None
    mail: Any = None  # the InboundMessage of a mail.received event
    sla_target: str | None = None  # the target of an sla.at_risk / sla.breached event
    actor_is_staff: bool | None = None
    load_requester: Callable[[], Any] | None = None
    load_calendar: Callable[[], Any] | None = None
    load_last_customer_reply: Callable[[], datetime | None] | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, load: Callable[[], Any] | None) -> Any:
        if key not in self._cache:
            self._cache[key] = load() if load is not None else None
        return self._cache[key]


def evaluate(node: dict, facts: Facts, path: str = "conditions") -> tuple[bool, list[Outcome]]:
    """Whether the tree matches, and every leaf's outcome (all of them: no short cut,
    so that an explanation is complete)."""
    for key in ("all", "any"):
        if key in node:
            results = [evaluate(item, facts, f"{path}.{key}[{i}]")
                       for i, item in enumerate(node[key])]  # fmt: skip
            outcomes = [o for _, found in results for o in found]
            flags = [matched for matched, _ in results]
            return (all(flags) if key == "all" else any(flags)), outcomes
    if "field" in node:
        outcome = _state(node, facts, path)
    elif "changed" in node:
        outcome = _change(node, facts, path)
    else:
        outcome = _time(node, facts, path)
    return outcome.matched, [outcome]


def matches(node: dict, facts: Facts) -> bool:
    """Whether the tree matches, as `evaluate` says, without writing the outcomes' texts
    and stopping at the first leaf that decides: the engine's hot path (50 rules on each
    of a bulk chunk's tickets); `evaluate` explains a rule once it matched."""
    for key in ("all", "any"):
        if key in node:
            results = (matches(item, facts) for item in node[key])
            return all(results) if key == "all" else any(results)
    if "field" in node:
        spec = field_spec(node["field"], "conditions")
        if _missing(spec, facts):
            return False
        return _compare(spec, node["op"], field_value(node["field"], facts), node.get("value"))
    if "changed" in node:
        return _change(node, facts, "conditions").matched
    return _time(node, facts, "conditions").matched


def _missing(spec: FieldSpec, facts: Facts) -> bool:
    """The leaf reads what this event does not carry (a comment, a mail, an SLA alert)."""
    return bool(
        (spec.comment and facts.comment is None)
        or (spec.mail and facts.mail is None)
        or (spec.sla and facts.sla_target is None)
    )


def _id(value: Any) -> Any:
    return value.pk if isinstance(value, Model) else value


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "empty"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def field_value(name: str, facts: Facts) -> Any:
    ticket = facts.ticket
    if name.startswith(CUSTOM_PREFIX):
        return (ticket.custom_fields or {}).get(name.removeprefix(CUSTOM_PREFIX))
    head, _, attr = name.partition(".")
    if head == "ticket":
        if attr in ("team", "assignee", "category"):
            return getattr(ticket, f"{attr}_id")
        return getattr(ticket, attr)
    if head == "requester":
        requester = facts.once("requester", facts.load_requester)
        if requester is None:
            return None
        if attr == "email_domain":
            return requester.email.rpartition("@")[2].lower()
        if attr == "name":
            return requester.full_name
        if attr == "tier":
            return requester.customer_tier
        return requester.email
    if head == "mail":
        return getattr(facts.mail, attr, None) if facts.mail is not None else None
    if head == "sla":
        return facts.sla_target
    comment = facts.comment
    if comment is None:
        return None
    if attr == "kind":
        return comment.kind
    if attr == "body":
        return comment.body_text
    if comment.kind == CommentKind.SYSTEM or comment.author_id is None:
        return "system"
    staff = facts.actor_is_staff
    if staff is None:
        staff = comment.author.role in STAFF_ROLES
    return "staff" if staff else "customer"


def _state(node: dict, facts: Facts, path: str) -> Outcome:
    spec = field_spec(node["field"], path)
    op, wanted = node["op"], node.get("value")
    actual = field_value(node["field"], facts)
    if spec.comment and facts.comment is None:
        return Outcome(path, False, f"{spec.label}: no comment in this event", None)
    if spec.mail and facts.mail is None:
        return Outcome(path, False, f"{spec.label}: no mail in this event", None)
    if spec.sla and facts.sla_target is None:
        return Outcome(path, False, f"{spec.label}: no SLA alert in this event", None)
    matched = _compare(spec, op, actual, wanted)
    shown = _shown(actual)
    if matched:
        text = f"{spec.label} {spec.verb} {shown}"
        if op in ("contains", "starts_with", "ends_with", "includes", "not_contains",
                  "excludes"):  # fmt: skip
            text = f"{spec.label} {OP_WORDS[op]} {_shown(wanted)}"
    else:
        want = OP_WORDS[op] + ("" if op in NO_VALUE else f" {_shown(wanted)}")
        text = f"{spec.label} {spec.verb} {shown}; the rule wants it {want}"
    return Outcome(path, matched, text, actual)


def _text(value: Any) -> str:
    return "" if value is None else str(value).lower()


def _compare(spec: FieldSpec, op: str, actual: Any, wanted: Any) -> bool:
    if op == "is_set":
        return actual not in (None, "", [])
    if op == "not_set":
        return actual in (None, "", [])
    if spec.kind == TAGS:
        tags = {str(t).lower() for t in actual or []}
        listed = {str(w).strip().lower() for w in (wanted if isinstance(wanted, list) else
                                                   [wanted])}  # fmt: skip
        return listed <= tags if op == "includes" else not (listed & tags)
    if (spec.kind in (TEXT, CUSTOM) and op not in ("is", "is_not")) or spec.kind == TEXT:
        have, want = _text(actual), _text(wanted)
        result = {
            "is": have == want, "is_not": have != want, "contains": want in have,
            "not_contains": want not in have, "starts_with": have.startswith(want),
            "ends_with": have.endswith(want),
        }  # fmt: skip
        return result[op]
    if op == "is":
        return actual == wanted
    if op == "is_not":
        return actual != wanted
    if op == "one_of":
        return actual in wanted
    return actual not in wanted  # not_one_of


def _change(node: dict, facts: Facts, path: str) -> Outcome:
    name = node["changed"]
    if name == "comment.added":
        if facts.event != "comment.added" or facts.comment is None:
            return Outcome(path, False, "no comment was added")
        by = field_value("comment.author_kind", facts)
        wanted = node.get("by")
        matched = wanted is None or by == wanted
        text = f"a comment was added by {by}"
        return Outcome(path, matched, text if matched else f"{text}, not by {wanted}", by)
    spec = CHANGES[name]
    key = name.partition(".")[2]
    change = facts.changes.get(key)
    if change is None:
        return Outcome(path, False, f"{spec.label} did not change")
    old, new = _id(change[0]), _id(change[1])
    ok = ("from" not in node or node["from"] == old) and ("to" not in node or node["to"] == new)
    text = f"{spec.label} changed from {_shown(old)} to {_shown(new)}"
    if not ok:
        wanted = " ".join(f"{k} {_shown(node[k])}" for k in ("from", "to") if k in node)
        text = f"{text}; the rule wants {wanted}"
    return Outcome(path, ok, text, [old, new])


def time_anchor(name: str, facts: Facts) -> datetime | None:
    if name == "ticket.last_customer_reply_at":
        return facts.once("last_customer_reply", facts.load_last_customer_reply)
    return getattr(facts.ticket, name.partition(".")[2])


def elapsed(start: datetime, end: datetime, *, business: bool, facts: Facts) -> timedelta:
    if end <= start:
        return timedelta(0)
    if not business:
        return end - start
    calendar = facts.once("calendar", facts.load_calendar)
    return calendar.between(start, end)


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def _time(node: dict, facts: Facts, path: str) -> Outcome:
    name, op = node["time"], node["op"]
    label = {**PAST_TIMES, **DUE_TIMES}[name]
    business = bool(node.get("business"))
    kind = "business time" if business else "time"
    anchor = time_anchor(name, facts)
    if anchor is None:
        return Outcome(path, False, f"{label}: no such time on this ticket")
    limit = timedelta(minutes=node.get("minutes", 0))
    if op == "older_than":
        age = elapsed(anchor, facts.now, business=business, facts=facts)
        matched = age >= limit
        text = f"{_minutes(age)} of {kind} since {label}"
        if not matched:
            text += f", less than {_minutes(limit)}"
        return Outcome(path, matched, text, anchor.isoformat())
    if op == "overdue":
        matched = anchor <= facts.now
        text = f"{label} at {anchor:%Y-%m-%d %H:%M %Z} " + ("has passed" if matched else
                                                           "is still ahead")  # fmt: skip
        return Outcome(path, matched, text, anchor.isoformat())
    left = elapsed(facts.now, anchor, business=business, facts=facts)
    matched = facts.now < anchor and left <= limit
    if anchor <= facts.now:
        text = f"{label} has already passed"
    else:
        text = f"{_minutes(left)} of {kind} left until {label}"
        if not matched:
            text += f", more than {_minutes(limit)}"
    return Outcome(path, matched, text, anchor.isoformat())
