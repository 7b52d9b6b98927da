"""Every write to rules: create, update (a new version each time), delete, reorder,
import; and applying a macro. Admins and managers manage rules; any agent applies a
macro (docs/permissions.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db import connection
from django.db.models import Max
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.automation import engine, schema
from deskbase.automation.models import Activator, Rule, RuleVersion
from deskbase.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant_atomic
from deskbase.organizations.models import Organization
from deskbase.tickets.locks import lock_tickets
from deskbase.tickets.models import Ticket
from deskbase.tickets.permissions import ensure_staff

MANAGERS = (Role.ADMIN, Role.MANAGER)
MAX_RULES = 500  # per organization and activator
MAX_BULK = 100


def ensure_may_manage(actor: User) -> None:
    if actor.role not in MANAGERS:
        raise PermissionDenied(gettext("only admins and managers manage rules and macros"))


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 120:
        raise ValidationFailed.one("name", gettext("A rule needs a name of 1 to 120 characters."))
    return name.strip()


def _current(organization: Organization, rule: Rule) -> Rule:
    found = Rule.objects.select_for_update().filter(organization=organization, pk=rule.pk).first()
    if found is None:
        raise NotFound(gettext("no rule %(pk)s") % {"pk": rule.pk}, field="rule")
    return found


def _lock_positions(organization: Organization, activator: str) -> None:
    """One writer of an activator's positions at a time (create appends, reorder renumbers)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"deskbase.automation.positions:{organization.id}:{activator}"],
        )


def _version(rule: Rule, actor: User) -> None:
    RuleVersion.objects.create(
        organization_id=rule.organization_id, rule=rule, version=rule.version, name=rule.name,
        is_active=rule.is_active, definition=rule.definition, saved_by=actor,
    )  # fmt: skip
    engine.rules_changed(rule.organization_id)


@tenant_atomic
def rule_create(
    *, organization: Organization, actor: User, name: str, activator: str, definition: Any,
    is_active: bool = True,
) -> Rule:  # fmt: skip
    """A new rule (or macro), last in its activator's order, at version 1."""
    ensure_may_manage(actor)
    name = _name(name)
    checked = schema.check(organization.id, activator, definition)
    _lock_positions(organization, activator)
    rules = Rule.objects.filter(organization=organization, activator=activator)
    last = rules.aggregate(last=Max("position"))["last"] or 0
    if last >= MAX_RULES:
        raise ValidationFailed.one(
            "activator",
            gettext("At most %(max_rules)s %(activator)s rules.")
            % {"max_rules": MAX_RULES, "activator": activator},
        )
    if rules.filter(name=name).exists():
        raise ValidationFailed.one("name", gettext("A rule with this name already exists."))
    rule = Rule.objects.create(
        organization=organization,
        name=name,
        activator=activator,
        position=last + 1,
        is_active=bool(is_active),
        definition=checked,
        updated_by=actor,
    )
    _version(rule, actor)
    return rule


@tenant_atomic
def rule_update(
    *, organization: Organization, actor: User, rule: Rule, version: int | None = None,
    name: str | None = None, definition: Any = None, is_active: bool | None = None,
) -> Rule:  # fmt: skip
    """Change a rule: every save is a new version (RuleVersion row); `version` guards
    against overwriting someone else's save."""
    ensure_may_manage(actor)
    current = _current(organization, rule)
    if version is not None and version != current.version:
        raise Conflict(
            gettext(
                "rule %(pk)s was saved by someone else: you edited version "
                "%(version)s, the latest is %(latest)s"
            )
            % {"pk": current.pk, "version": version, "latest": current.version},
            field="version",
        )
    if name is not None:
        current.name = _name(name)
        clash = Rule.objects.filter(organization=organization, activator=current.activator,
                                    name=current.name).exclude(pk=current.pk)  # fmt: skip
        if clash.exists():
            raise ValidationFailed.one("name", gettext("A rule with this name already exists."))
    if definition is not None:
        current.definition = schema.check(organization.id, current.activator, definition)
    if is_active is not None:
        current.is_active = bool(is_active)
    current.version += 1
    current.updated_by = actor
    current.save()
    _version(current, actor)
    return current


@tenant_atomic
def rule_delete(*, organization: Organization, actor: User, rule: Rule) -> None:
    """Delete a rule and its versions; its firings stay (they keep its name and version)."""
    ensure_may_manage(actor)
    current = _current(organization, rule)
    current.delete()
    engine.rules_changed(organization.id)


@tenant_atomic
def rule_reorder(
    *, organization: Organization, actor: User, activator: str, ids: list[int]
) -> list[Rule]:
    """Put the activator's rules in the order of `ids` (every one of them, once)."""
    ensure_may_manage(actor)
    if activator not in Activator.values:
        raise ValidationFailed.one(
            "activator", gettext("Unknown activator %(activator)r.") % {"activator": activator}
        )
    _lock_positions(organization, activator)
    rules = {
        r.pk: r
        for r in Rule.objects.select_for_update()
        .filter(organization=organization, activator=activator)
        .order_by("id")
    }
    if len(ids) != len(set(ids)) or set(ids) != set(rules):
        raise ValidationFailed.one(
            "ids",
            gettext("List each of the %(count)s %(activator)s rules once, in the new order.")
            % {"count": len(rules), "activator": activator},
        )
    for position, pk in enumerate(ids, start=1):
        rules[pk].position = position
    # The unique position key is deferred to the commit: swaps pass.
    Rule.objects.bulk_update(list(rules.values()), ["position"])
    engine.rules_changed(organization.id)
    return [rules[pk] for pk in ids]


# ------------------------------------------------------------------ YAML
def export_yaml(rules: Iterable[Rule]) -> str:
    """The rules as YAML, in order: what import_yaml reads back."""
    documents = [
        {"name": r.name, "activator": r.activator, "active": r.is_active, **r.definition}
        for r in rules
    ]
    return yaml.safe_dump({"rules": documents}, sort_keys=False, allow_unicode=True)


@dataclass
class ImportReport:
    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


MAX_YAML = 1_000_000


def _parse_yaml(text: str) -> list[dict]:
    if not isinstance(text, str) or len(text) > MAX_YAML:
        raise ValidationFailed.one(
            "yaml",
            gettext("YAML text of at most %(max_yaml)s characters.") % {"max_yaml": MAX_YAML},
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValidationFailed.one(
            "yaml", gettext("Not valid YAML: %(error)s") % {"error": error}
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValidationFailed.one("yaml", gettext("Expected a mapping with a list under `rules`."))
    return data["rules"]


@tenant_atomic
def import_yaml(
    *, organization: Organization, actor: User, text: str, dry_run: bool = True
) -> ImportReport:
    """Create or update rules by (activator, name) from YAML; every rule is checked
    first, and nothing is written when one fails or on a dry run."""
    ensure_may_manage(actor)
    documents = _parse_yaml(text)
    planned = []
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise ValidationFailed.one(f"rules[{index}]", gettext("A rule is a mapping."))
        body = dict(document)
        name, activator = body.pop("name", None), body.pop("activator", None)
        active = body.pop("active", True)
        try:
            name = _name(name)
            definition = schema.check(organization.id, str(activator), body)
        except ValidationFailed as error:
            messages = {f"rules[{index}].{k}": v for k, v in error.errors.items()}
            raise ValidationFailed(messages) from None
        planned.append((name, str(activator), bool(active), definition))
    report = ImportReport(dry_run=dry_run)
    existing = {(r.activator, r.name): r for r in Rule.objects.filter(organization=organization)}
    for name, activator, active, definition in planned:
        rule = existing.get((activator, name))
        if rule is None:
            report.created.append(name)
            if not dry_run:
                rule_create(
                    organization=organization,
                    actor=actor,
                    name=name,
                    activator=activator,
                    definition=definition,
                    is_active=active,
                )
        elif rule.definition == definition and rule.is_active == active:
            report.unchanged.append(name)
        else:
            report.updated.append(name)
            if not dry_run:
                rule_update(organization=organization, actor=actor, rule=rule,
                            definition=definition, is_active=active)  # fmt: skip
    return report


# ------------------------------------------------------------------ macros
@dataclass
class MacroResult:
    number: int
    changes: list[str]
    errors: list[str]


def _macro(organization: Organization, macro_id: int) -> Rule:
    macro = Rule.objects.filter(
        organization=organization, pk=macro_id, activator=Activator.MANUAL, is_active=True
    ).first()
    if macro is None:
        raise NotFound(gettext("no macro %(macro_id)s") % {"macro_id": macro_id}, field="macro")
    return macro


@tenant_atomic
def macro_apply(
    *, organization: Organization, actor: User, macro_id: int, tickets: list[Ticket]
) -> list[MacroResult]:
    """Apply a macro to one ticket or many (at most 100), as the agent who applies it.

    The tickets are locked in id order first, so two bulk applications never deadlock.
    Each ticket's result says what changed and what failed.
    """
    ensure_staff(actor, gettext("apply macros"))
    if not tickets or len(tickets) > MAX_BULK:
        raise ValidationFailed.one(
            "tickets",
            gettext("Apply a macro to 1 to %(max_bulk)s tickets.") % {"max_bulk": MAX_BULK},
        )
    macro = _macro(organization, macro_id)
    locked = lock_tickets([t.pk for t in tickets])
    results = []
    for ticket in sorted(locked.values(), key=lambda t: t.number):
        applied = engine.run_macro(macro, organization=organization, actor=actor, ticket=ticket)
        results.append(MacroResult(ticket.number, applied.changes, applied.errors))
    return results
