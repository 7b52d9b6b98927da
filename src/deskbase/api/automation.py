"""/api/v1/rules and /api/v1/macros: event rules, time rules and macros (docs/automation.md).

Admins and managers manage rules (macros are rules with `activator: manual`); every
agent lists and applies macros. Customers get a 403; another tenant's rule, macro or
ticket is a 404, like one that exists nowhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.automation import selectors, services, timed
from deskbase.automation.models import Firing, Rule, RuleVersion
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets.access import (
    access_ticket_by_number,
    access_ticket_reference,
    caller_organization,
)
from deskbase.tickets.models import Ticket
from deskbase.tickets.permissions import ensure_staff

router = Router(tags=["automation"])


class RuleOut(Schema):
    id: int
    name: str
    activator: str
    position: int
    active: bool
    version: int
    definition: dict
    updated_at: datetime

    @staticmethod
    def resolve_active(obj: Rule) -> bool:
        return obj.is_active


class RuleIn(Strict):
    name: str = Field(..., min_length=1, max_length=120)
    activator: str = Field(..., description="event, time or manual (a macro)")
    definition: dict[str, Any] = Field(..., description="events, conditions and actions")
    active: bool = True


class RulePatch(Strict):
    version: int | None = Field(None, description="the version you edited (a stale one: 409)")
    name: str | None = Field(None, min_length=1, max_length=120)
    definition: dict[str, Any] | None = None
    active: bool | None = None


class ReorderIn(Strict):
    activator: str
    ids: list[int] = Field(..., max_length=500)


class VersionOut(Schema):
    version: int
    name: str
    active: bool
    definition: dict
    saved_by_id: int | None
    saved_at: datetime

    @staticmethod
    def resolve_active(obj: RuleVersion) -> bool:
        return obj.is_active


class TestIn(Strict):
    ticket: int = Field(..., description="number of the ticket to test the rule on")


class ConditionResult(Schema):
    path: str
    matched: bool
    reason: str


class TestOut(Schema):
    rule: int
    version: int
    ticket: int
    matches: bool
    already_fired_for_this_occurrence: bool
    conditions: list[ConditionResult]


class PreviewTicket(Schema):
    number: int
    subject: str
    status: str
    because: list[str]


class PreviewOut(Schema):
    count: int
    scanned: int
    more: bool
    tickets: list[PreviewTicket]


class FiringOut(Schema):
    id: int
    rule_id: int
    rule_name: str
    rule_version: int
    trigger: str
    ticket_id: int | None
    outcome: str
    matched: list[dict]
    changes: list[str]
    errors: list[str]
    text: str
    created_at: datetime

    @staticmethod
    def resolve_text(obj: Firing) -> str:
        return selectors.timeline_text(obj)


class RulesExportOut(Schema):
    yaml: str


class ImportIn(Strict):
    yaml: str = Field(..., max_length=1_000_000)
    dry_run: bool = True


class ImportOut(Schema):
    dry_run: bool
    created: list[str]
    updated: list[str]
    unchanged: list[str]


class MacroOut(Schema):
    id: int
    name: str
    position: int
    actions: list[dict]

    @staticmethod
    def resolve_actions(obj: Rule) -> list[dict]:
        return obj.definition.get("actions", [])


class BulkIn(Strict):
    tickets: list[int] = Field(..., min_length=1, max_length=100, description="numbers")


class MacroResultOut(Schema):
    number: int
    changes: list[str]
    errors: list[str]


def _ref(user: Any, rule_id: int) -> Rule:
    return Rule(pk=rule_id, organization_id=user.organization_id)


# ------------------------------------------------------------------ rules
@router.get("/rules", response={200: list[RuleOut], **ERRORS})
def list_rules(request: ApiRequest, activator: str | None = None):
    """The organization's rules in their order (admins, managers)."""
    return selectors.rules_for(actor=request.auth, activator=activator)


@router.post("/rules", response={201: RuleOut, **ERRORS})
def create_rule(request: ApiRequest, payload: RuleIn):
    """A rule, checked when saved: a bad path or reference is a 422 naming it."""
    user = request.auth
    rule = services.rule_create(
        organization=caller_organization(user), actor=user, name=payload.name,
        activator=payload.activator, definition=payload.definition, is_active=payload.active,
    )  # fmt: skip
    return Status(201, rule)


@router.get("/rules/export", response={200: RulesExportOut, **ERRORS})
def export_rules(request: ApiRequest, activator: str | None = None):
    """The rules as YAML (what /rules/import reads)."""
    rules = selectors.rules_for(actor=request.auth, activator=activator)
    return {"yaml": services.export_yaml(rules)}


@router.post("/rules/import", response={200: ImportOut, **ERRORS})
def import_rules(request: ApiRequest, payload: ImportIn):
    """Create or update rules by (activator, name) from YAML; a dry run by default."""
    user = request.auth
    return services.import_yaml(
        organization=caller_organization(user), actor=user, text=payload.yaml,
        dry_run=payload.dry_run,
    )  # fmt: skip


@router.post("/rules/reorder", response={200: list[RuleOut], **ERRORS})
def reorder_rules(request: ApiRequest, payload: ReorderIn):
    """Put every rule of one activator in a new order."""
    user = request.auth
    return services.rule_reorder(
        organization=caller_organization(user), actor=user, activator=payload.activator,
        ids=payload.ids,
    )  # fmt: skip


@router.get("/rules/{rule_id}", response={200: RuleOut, **ERRORS})
def get_rule(request: ApiRequest, rule_id: int):
    return selectors.rule_get(actor=request.auth, rule_id=rule_id)


@router.patch("/rules/{rule_id}", response={200: RuleOut, **ERRORS})
def update_rule(request: ApiRequest, rule_id: int, payload: RulePatch):
    """Change a rule; every save is a new version."""
    user = request.auth
    changes = payload.dict(exclude_unset=True)
    for field in ("name", "definition", "active"):
        if field in changes and changes[field] is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    return services.rule_update(
        organization=caller_organization(user), actor=user, rule=_ref(user, rule_id),
        version=changes.get("version"), name=changes.get("name"),
        definition=changes.get("definition"), is_active=changes.get("active"),
    )  # fmt: skip


@router.delete("/rules/{rule_id}", response={204: None, **ERRORS})
def delete_rule(request: ApiRequest, rule_id: int):
    user = request.auth
    services.rule_delete(organization=caller_organization(user), actor=user,
                         rule=_ref(user, rule_id))  # fmt: skip
    return Status(204, None)


@router.get("/rules/{rule_id}/versions", response={200: list[VersionOut], **ERRORS})
def rule_versions(request: ApiRequest, rule_id: int):
    """Every saved version, newest first."""
    return selectors.versions_of(actor=request.auth, rule_id=rule_id)


@router.post("/rules/{rule_id}/test", response={200: TestOut, **ERRORS})
def test_rule(request: ApiRequest, rule_id: int, payload: TestIn):
    """Would the rule match ticket #N now? Each condition with why it does or does not."""
    user = request.auth
    rule = selectors.rule_get(actor=user, rule_id=rule_id)
    ticket = access_ticket_reference(user, payload.ticket, field="ticket")
    with tenant(user.organization_id, user, savepoint=False):
        return timed.explain_on_ticket(rule, ticket)


@router.get("/rules/{rule_id}/preview", response={200: PreviewOut, **ERRORS})
def preview_rule(request: ApiRequest, rule_id: int):
    """The tickets a time rule would act on now (at most 500 candidates looked at)."""
    user = request.auth
    rule = selectors.rule_get(actor=user, rule_id=rule_id)
    if rule.activator != "time":
        raise ValidationFailed.one("rule_id", "Only time rules have a preview.")
    with tenant(user.organization_id, user, savepoint=False):
        return timed.preview(rule)


@router.get("/rules/{rule_id}/firings", response={200: list[FiringOut], **ERRORS})
def rule_firings(request: ApiRequest, rule_id: int, before: datetime | None = None):
    """The rule's latest firings (50), newest first; `before` pages back."""
    return selectors.firings_of_rule(actor=request.auth, rule_id=rule_id, before=before)


# ------------------------------------------------------------------ macros
@router.get("/macros", response={200: list[MacroOut], **ERRORS})
def list_macros(request: ApiRequest):
    """The active macros, in order (any agent)."""
    return selectors.macros_for(actor=request.auth)


@router.post("/tickets/{number}/macros/{macro_id}/apply", response={200: MacroResultOut, **ERRORS})
def apply_macro(request: ApiRequest, number: int, macro_id: int):
    """Apply a macro to one ticket, as the calling agent."""
    user = request.auth
    ensure_staff(user, "apply macros")
    ticket = access_ticket_by_number(user, number)
    (result,) = services.macro_apply(
        organization=caller_organization(user), actor=user, macro_id=macro_id, tickets=[ticket]
    )
    return result


@router.post("/macros/{macro_id}/apply", response={200: list[MacroResultOut], **ERRORS})
def apply_macro_bulk(request: ApiRequest, macro_id: int, payload: BulkIn):
    """Apply a macro to up to 100 tickets (by number); each ticket's result."""
    user = request.auth
    ensure_staff(user, "apply macros")
    numbers = list(dict.fromkeys(payload.tickets))
    with tenant(user.organization_id, user, savepoint=False):
        found = {
            t.number: t
            for t in Ticket.objects.filter(organization_id=user.tenant_id, number__in=numbers)
        }
    for index, number in enumerate(payload.tickets):
        if number not in found:
            raise ValidationFailed.one(f"tickets[{index}]", f"No ticket #{number} here.")
    tickets = [found[number] for number in numbers]
    return services.macro_apply(
        organization=caller_organization(user), actor=user, macro_id=macro_id, tickets=tickets
    )
