"""Reads of rules, versions and firings; each scoped to the caller's organization."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.automation.models import Activator, Firing, Rule, RuleVersion
from deskbase.automation.services import ensure_may_manage
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets.permissions import ensure_staff

MAX_FIRINGS = 100


def rules_for(*, actor: User, activator: str | None = None) -> list[Rule]:
    """The organization's rules in order (admins, managers). One query."""
    ensure_may_manage(actor)
    if activator is not None and activator not in Activator.values:
        raise ValidationFailed.one(
            "activator", gettext("Unknown activator %(activator)r.") % {"activator": activator}
        )
    found = Rule.objects.filter(organization_id=actor.tenant_id)
    if activator:
        found = found.filter(activator=activator)
    with tenant(actor.organization_id, actor, savepoint=False):
        return list(found.order_by("activator", "position", "id"))


def rule_get(*, actor: User, rule_id: int) -> Rule:
    """One rule (admins, managers); another tenant's is a 404 like a missing one."""
    ensure_may_manage(actor)
    with tenant(actor.organization_id, actor, savepoint=False):
        rule = Rule.objects.filter(organization_id=actor.tenant_id, pk=rule_id).first()
    if rule is None:
        raise NotFound(gettext("no rule %(rule_id)s") % {"rule_id": rule_id}, field="rule_id")
    return rule


def versions_of(*, actor: User, rule_id: int) -> list[RuleVersion]:
    rule = rule_get(actor=actor, rule_id=rule_id)
    with tenant(actor.organization_id, actor, savepoint=False):
        return list(RuleVersion.objects.filter(rule=rule).order_by("-version"))


def firings_of_rule(
    *, actor: User, rule_id: int, before: datetime | None = None, limit: int = 50
) -> list[Firing]:
    """The rule's latest firings, newest first (index by rule and time). One query."""
    rule = rule_get(actor=actor, rule_id=rule_id)
    found = Firing.objects.filter(organization_id=actor.tenant_id, rule_id=rule.pk)
    if before is not None:
        found = found.filter(created_at__lt=before)
    with tenant(actor.organization_id, actor, savepoint=False):
        return list(found.order_by("-created_at", "-id")[: max(1, min(limit, MAX_FIRINGS))])


def firings_of_ticket(*, actor: User, ticket_id: int) -> list[Firing]:
    """A ticket's firings for its timeline (staff), oldest first. One query."""
    ensure_staff(actor, gettext("see what rules did"))
    with tenant(actor.organization_id, actor, savepoint=False):
        return list(
            Firing.objects.filter(organization_id=actor.tenant_id, ticket_id=ticket_id).order_by(
                "created_at", "id"
            )[:500]
        )


def macros_for(*, actor: User) -> list[Rule]:
    """The active macros an agent may apply, in order. One query."""
    ensure_staff(actor, gettext("apply macros"))
    with tenant(actor.organization_id, actor, savepoint=False):
        return list(
            Rule.objects.filter(
                organization_id=actor.tenant_id, activator=Activator.MANUAL,
                is_active=True,
            ).order_by("position", "id")
        )  # fmt: skip


def timeline_text(firing: Firing) -> str:
    """ "Rule 'Escalate VIP' set priority to urgent: priority was high; requester domain
    is vip.example" (what it did, then why), for the ticket's timeline."""
    kind = "Macro" if firing.activator == Activator.MANUAL else "Rule"
    head = f"{kind} '{firing.rule_name}'"
    did = ", ".join(firing.changes)
    if firing.outcome == "skipped":
        did = "matched again and did not fire (a rule fires once per event cycle)"
    elif firing.outcome == "capped":
        did = "was stopped: changes by rules nest at most 10 deep"
    elif not did:
        did = "fired and changed nothing"
    text = f"{head} {did}"
    reasons = "; ".join(m["text"] for m in firing.matched)
    if reasons:
        text += f": {reasons}"
    if firing.errors and firing.outcome in ("fired", "failed"):
        text += f" (failed: {'; '.join(firing.errors)})"
    return text
