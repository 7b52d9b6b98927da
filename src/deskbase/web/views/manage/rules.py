"""Rules and macros (/manage/rules/): the ordered list, the editor with condition and
action rows (htmx adds a row), "test on ticket #N", the preview of a time rule, the
versions and the firing log; YAML export and import. Admins and managers."""

from __future__ import annotations

from typing import Any

import yaml
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from deskbase.accounts.requests import AuthedRequest
from deskbase.automation import conditions, selectors, services, timed
from deskbase.automation.actions import ACTIONS
from deskbase.automation.models import Activator, Rule
from deskbase.automation.schema import EVENTS
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets.access import (
    access_ticket_by_number,
    access_ticket_reference,
    caller_organization,
)
from deskbase.web.views.common import domain_errors, error_text, manager_required, staff_required
from deskbase.web.views.manage.forms import action, form_page

LEAF_KINDS = ("field", "changed", "time")
MAX_ROWS = 50


def _vocabulary() -> dict[str, Any]:
    return {
        "fields": sorted(conditions.FIELDS), "changes": sorted(conditions.CHANGES),
        "times": sorted({**conditions.PAST_TIMES, **conditions.DUE_TIMES}),
        "operators": sorted({op for ops in conditions.OPERATORS.values() for op in ops}),
        "time_ops": list(conditions.TIME_OPS), "action_types": list(ACTIONS),
        "events": EVENTS, "activators": Activator.choices,
        "group_names": [("1", "A"), ("2", "B"), ("3", "C")],
    }  # fmt: skip


# ------------------------------------------------------------------ rows <-> definition
GROUPS = ("1", "2", "3")  # the rows editor's groups inside the main one (A, B, C)


def _is_group(node: dict) -> bool:
    return bool({"all", "any"} & set(node))


def _match_of(node: dict) -> str:
    return "any" if "any" in node else "all"


def _flat(definition: dict) -> bool:
    """Whether the rows editor can show the conditions: one group of leaves and of at
    most three groups of leaves (deeper nesting is edited as YAML)."""
    node = definition.get("conditions") or {"all": []}
    inner = [item for item in node.get(_match_of(node), []) if _is_group(item)]
    return len(inner) <= len(GROUPS) and all(
        not _is_group(leaf) for group in inner for leaf in group.get(_match_of(group), [])
    )


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _row(leaf: dict, group: str) -> dict[str, str]:
    if "field" in leaf:
        return {"kind": "field", "subject": leaf["field"], "op": leaf["op"],
                "value": _text(leaf.get("value")), "business": "", "group": group}  # fmt: skip
    if "changed" in leaf:
        return {"kind": "changed", "subject": leaf["changed"], "op": _text(leaf.get("from")),
                "value": _text(leaf.get("to", leaf.get("by"))), "business": "",
                "group": group}  # fmt: skip
    return {"kind": "time", "subject": leaf["time"], "op": leaf["op"],
            "value": _text(leaf.get("minutes", "")),
            "business": "yes" if leaf.get("business") else "", "group": group}  # fmt: skip


def condition_rows(definition: dict) -> tuple[str, list[dict[str, str]], dict[str, str]]:
    """The main match, one row per condition (its group: "" main, "1".."3" A to C) and
    each group's match."""
    node = definition.get("conditions") or {"all": []}
    match = _match_of(node)
    rows: list[dict[str, str]] = []
    matches = dict.fromkeys(GROUPS, "any")
    groups = iter(GROUPS)
    for item in node.get(match, []):
        if not _is_group(item):
            rows.append(_row(item, ""))
            continue
        group = next(groups)
        matches[group] = _match_of(item)
        rows += [_row(leaf, group) for leaf in item.get(matches[group], [])]
    return match, rows, matches


def action_rows(definition: dict) -> list[dict[str, str]]:
    rows = []
    for item in definition.get("actions") or []:
        kind = item["type"]
        if kind == "set_custom_field":
            value = f"{item['name']}={_text(item['value'])}"
        elif kind == "set_assignee" and item.get("auto"):
            value = "auto"
        else:
            keys = [k for k in item if k != "type"]
            value = _text(item[keys[0]]) if keys else ""
        rows.append({"type": kind, "value": value})
    return rows


def _typed(spec_kind: str, op: str, raw: str) -> Any:
    """A value typed in a row, as the definition holds it."""
    raw = raw.strip()
    many = op in ("one_of", "not_one_of") or spec_kind == conditions.TAGS
    parts: list[Any] = [p.strip() for p in raw.split(",") if p.strip()] if many else [raw]
    if spec_kind == conditions.REF:  # a non-number stays text: the check refuses it
        parts = [int(p) if p.isdigit() else p for p in parts]
    if spec_kind == conditions.BOOL:
        return raw.lower() in ("true", "yes", "1")
    return parts if many else parts[0]


def _leaf(kind: str, subject: str, op: str, value: str, business: str) -> dict[str, Any]:
    if kind == "changed":
        leaf: dict[str, Any] = {"changed": subject}
        spec = conditions.CHANGES.get(subject)
        kind_of = spec.kind if spec else conditions.TEXT
        if subject == "comment.added":
            if value.strip():
                leaf["by"] = value.strip()
            return leaf
        if op.strip():
            leaf["from"] = _typed(kind_of, "is", op)
        if value.strip():
            leaf["to"] = _typed(kind_of, "is", value)
        return leaf
    if kind == "time":
        leaf = {"time": subject, "op": op}
        if op != "overdue":
            leaf["minutes"] = int(value) if value.strip().isdigit() else value.strip()
        if business == "yes":
            leaf["business"] = True
        return leaf
    leaf = {"field": subject, "op": op}
    if op not in conditions.NO_VALUE:
        try:
            spec_kind = conditions.field_spec(subject, "").kind
        except conditions.Invalid:
            spec_kind = conditions.TEXT
        leaf["value"] = _typed(spec_kind, op, value)
    return leaf


ACTION_KEYS = {"set_status": "status", "set_priority": "priority", "set_team": "team",
               "set_assignee": "assignee", "add_tags": "tags", "remove_tags": "tags",
               "add_note": "body", "send_reply": "template", "apply_sla": "policy",
               "call_webhook": "endpoint"}  # fmt: skip


def _action(kind: str, value: str) -> dict[str, Any]:
    value = value.strip()
    if kind == "set_custom_field":
        name, _, raw = value.partition("=")
        return {"type": kind, "name": name.strip(), "value": raw.strip()}
    if kind == "set_assignee" and value == "auto":
        return {"type": kind, "auto": True}
    key = ACTION_KEYS.get(kind, "value")
    typed: Any = value
    if key in ("team", "assignee", "template", "policy", "endpoint"):
        typed = int(value) if value.isdigit() else (None if value in ("", "none") else value)
    elif key == "tags":
        typed = [t.strip() for t in value.split(",") if t.strip()]
    return {"type": kind, key: typed}


def definition_from(post: Any) -> dict[str, Any]:
    """The definition the form describes (its YAML text, or its rows)."""
    if post.get("mode") == "yaml":
        try:
            data = yaml.safe_load(post.get("yaml", "") or "{}")
        except yaml.YAMLError as error:
            raise ValidationFailed.one(
                "yaml", gettext("Not valid YAML: %(error)s") % {"error": error}
            ) from None
        if not isinstance(data, dict):
            raise ValidationFailed.one("yaml", gettext("The definition is a mapping."))
        return data
    rows = zip(
        post.getlist("c_kind"),
        post.getlist("c_subject"),
        post.getlist("c_op"),
        post.getlist("c_value"),
        post.getlist("c_business"),
        strict=False,
    )
    groups = post.getlist("c_group")
    leaves: list[dict[str, Any]] = []
    grouped: dict[str, list[dict[str, Any]]] = {}
    for index, row in enumerate(list(rows)[:MAX_ROWS]):
        if not row[1]:
            continue
        group = groups[index] if index < len(groups) else ""
        if group in GROUPS:
            grouped.setdefault(group, []).append(_leaf(*row))
        else:
            leaves.append(_leaf(*row))
    for group in GROUPS:  # after the main group's own conditions, in order A, B, C
        if group in grouped:
            inner = "all" if post.get(f"match_{group}") == "all" else "any"
            leaves.append({inner: grouped[group]})
    match = "any" if post.get("match") == "any" else "all"
    acts = [_action(k, v) for k, v in zip(post.getlist("a_type"), post.getlist("a_value"),
                                          strict=False) if k][:MAX_ROWS]  # fmt: skip
    definition: dict[str, Any] = {"conditions": {match: leaves}, "actions": acts}
    events = post.getlist("events")
    if events:
        definition["events"] = events
    return definition


# ------------------------------------------------------------------ pages
@manager_required
@domain_errors
def rules_list(request: AuthedRequest) -> HttpResponse:
    rules = selectors.rules_for(actor=request.user)
    groups = [(value, label, [r for r in rules if r.activator == value])
              for value, label in Activator.choices]  # fmt: skip
    return render(request, "web/manage/rules.html", {"groups": groups, "section": "rules"})


@manager_required
@domain_errors
def rule_edit(request: AuthedRequest, rule_id: int | None = None) -> HttpResponse:
    """A new rule, or an existing one with its test, preview, versions and firings."""
    user = request.user
    rule = selectors.rule_get(actor=user, rule_id=rule_id) if rule_id else None
    definition = rule.definition if rule else {"conditions": {"all": []}, "actions": []}
    activator = rule.activator if rule else request.GET.get("activator", Activator.EVENT)
    yaml_mode = request.GET.get("mode") == "yaml" or not _flat(definition)
    values: dict[str, Any] = {
        "name": rule.name if rule else "", "active": rule.is_active if rule else True,
        "activator": activator,
    }  # fmt: skip
    if request.method == "POST":
        yaml_mode = request.POST.get("mode") == "yaml"
        values = {"name": request.POST.get("name", ""), "active": "active" in request.POST,
                  "activator": request.POST.get("activator", activator)}  # fmt: skip

    def save() -> str:
        submitted = definition_from(request.POST)
        organization = caller_organization(user)
        if rule is None:
            created = services.rule_create(
                organization=organization, actor=user, name=values["name"],
                activator=values["activator"], definition=submitted, is_active=values["active"],
            )  # fmt: skip
            return gettext("Rule %(name)s saved (version 1).") % {"name": repr(created.name)}
        saved = services.rule_update(
            organization=organization, actor=user, rule=rule, name=values["name"],
            definition=submitted, is_active=values["active"],
            version=int(request.POST.get("version") or rule.version),
        )  # fmt: skip
        return gettext("Rule %(name)s saved (version %(version)s).") % {
            "name": repr(saved.name),
            "version": saved.version,
        }

    def page() -> dict[str, Any]:
        shown = definition
        if request.method == "POST":
            try:
                shown = definition_from(request.POST)
            except ValidationFailed:
                shown = definition
        empty: tuple[str, list[dict[str, str]], dict[str, str]] = (
            "all", [], dict.fromkeys(GROUPS, "any"),
        )  # fmt: skip
        match, crows, group_matches = condition_rows(shown) if _flat(shown) else empty
        return {
            "rule": rule, "values": values, "yaml_mode": yaml_mode, "match": match,
            "condition_rows": crows, "group_matches": sorted(group_matches.items()),
            "action_rows": action_rows(shown),
            "events_on": shown.get("events", []), "error": "",
            "yaml_text": request.POST.get("yaml") if request.method == "POST"
            else yaml.safe_dump(shown, sort_keys=False),
            "section": "rules", **_vocabulary(), **_rule_details(request, rule),
        }  # fmt: skip

    return form_page(request, "web/manage/rule_edit.html", save=save, done="manage_rules",
                     page=page, refused=lambda failed: {"error": error_text(failed)})  # fmt: skip


def _rule_details(request: AuthedRequest, rule: Rule | None) -> dict[str, Any]:
    if rule is None:
        return {}
    user = request.user
    details: dict[str, Any] = {
        "versions": selectors.versions_of(actor=user, rule_id=rule.pk)[:20],
        "firings": [(f, selectors.timeline_text(f))
                    for f in selectors.firings_of_rule(actor=user, rule_id=rule.pk)],
    }  # fmt: skip
    number = request.GET.get("ticket", "").strip()
    if number:
        try:
            ticket = access_ticket_reference(user, number, field="ticket")
        except ValidationFailed as failed:
            details["test_error"] = error_text(failed)
        else:
            with tenant(user.organization_id, user, savepoint=False):
                details["test"] = timed.explain_on_ticket(rule, ticket)
        details["test_number"] = number
    if rule.activator == Activator.TIME:
        with tenant(user.organization_id, user, savepoint=False):
            details["preview"] = timed.preview(rule)
    return details


@manager_required
def condition_row(request: AuthedRequest) -> HttpResponse:
    """One empty condition row (htmx appends it to the editor)."""
    row = {"kind": request.GET.get("kind", "field"), "subject": "", "op": "", "value": "",
           "business": "", "group": ""}  # fmt: skip
    return render(request, "web/manage/_rule_condition_row.html", {"row": row, **_vocabulary()})


@manager_required
def action_row(request: AuthedRequest) -> HttpResponse:
    """One empty action row (htmx appends it to the editor)."""
    return render(request, "web/manage/_rule_action_row.html",
                  {"row": {"type": "", "value": ""}, **_vocabulary()})  # fmt: skip


@action("manage_rules")
def rule_delete(request: AuthedRequest, rule_id: int) -> str:
    user = request.user
    services.rule_delete(organization=caller_organization(user), actor=user,
                         rule=Rule(pk=rule_id, organization_id=user.tenant_id))  # fmt: skip
    return gettext("Rule deleted.")


@action("manage_rules")
def rule_move(request: AuthedRequest, rule_id: int) -> str:
    """Up or down by one place in its activator's order."""
    user = request.user
    rule = selectors.rule_get(actor=user, rule_id=rule_id)
    ids = [r.pk for r in selectors.rules_for(actor=user, activator=rule.activator)]
    index = ids.index(rule.pk)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        services.rule_reorder(organization=caller_organization(user), actor=user,
                              activator=rule.activator, ids=ids)  # fmt: skip
    return gettext("Rule %(name)s moved.") % {"name": repr(rule.name)}


@manager_required
@domain_errors
def rules_export(request: AuthedRequest) -> HttpResponse:
    text = services.export_yaml(selectors.rules_for(actor=request.user))
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rules.yaml"'
    return response


@manager_required
@domain_errors
def rules_import(request: AuthedRequest) -> HttpResponse:
    """Paste YAML; check it (a dry run) or import it."""
    user = request.user
    context: dict[str, Any] = {"section": "rules", "text": "", "report": None, "error": ""}
    status = 200
    if request.method == "POST":
        context["text"] = request.POST.get("yaml", "")
        try:
            context["report"] = services.import_yaml(
                organization=caller_organization(user), actor=user, text=context["text"],
                dry_run=request.POST.get("apply") != "yes",
            )  # fmt: skip
        except ValidationFailed as failed:
            context["error"], status = error_text(failed), 422
    return render(request, "web/manage/rules_import.html", context, status=status)


# ------------------------------------------------------------------ macros on a ticket
@staff_required
@require_POST
@domain_errors
def ticket_macro(request: AuthedRequest, number: int) -> HttpResponse:
    """An agent applies a macro to the ticket on its page."""
    user = request.user
    ticket = access_ticket_by_number(user, number)
    raw = request.POST.get("macro", "")
    if not raw.isdigit():
        raise NotFound(gettext("no such macro"))
    (result,) = services.macro_apply(
        organization=caller_organization(user), actor=user, macro_id=int(raw), tickets=[ticket]
    )
    said = ", ".join(result.changes) or "nothing changed"
    if result.errors:
        messages.error(
            request,
            gettext("Macro: %(said)s; failed: %(errors)s")
            % {"said": said, "errors": "; ".join(result.errors)},
        )
    else:
        messages.success(request, gettext("Macro applied: %(said)s.") % {"said": said})
    return redirect("web:ticket", number=number)
