"""Writing SLA policies: create, change and deactivate them (admins and managers).

A policy's priority and customer tier are what it is *for*: they never change.
To change a contract from some date on, end the old policy (`valid_until`) and
create a new one from that date. Editing the targets of a policy in place does
not move the due times tickets already got from it (docs/sla.md: a ticket's
clock is computed when it starts or is recomputed, never behind its back).

Two active policies of one (priority, customer tier) may not overlap in time:
`full_clean` reports the exclusion constraint on `valid_from`, and a concurrent
writer that slips past the check gets the same field error from the database
(`tenant_atomic` maps the IntegrityError).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core import events
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant_atomic
from deskbase.core.updates import model_update
from deskbase.organizations.models import Organization
from deskbase.sla.models import SlaPolicy

POLICY_MANAGERS = (Role.ADMIN, Role.MANAGER)
CHANGEABLE = frozenset(
    {"name", "first_response_minutes", "resolution_minutes", "business_hours", "valid_from",
     "valid_until", "is_active"}
)  # fmt: skip
NOT_NULL = frozenset(CHANGEABLE - {"valid_until"})


def ensure_may_manage(actor: User | None) -> None:
    # None: an operator command (the owner role), which may do anything.
    if actor is not None and actor.role not in POLICY_MANAGERS:
        raise PermissionDenied(gettext("only admins and managers may manage SLA policies"))


def _validate(policy: SlaPolicy) -> None:
    if policy.valid_until is not None and policy.valid_until <= policy.valid_from:
        # Checked first: the overlap check cannot build a backwards range (PostgreSQL
        # refuses it, and Django reports that as an overlap).
        raise ValidationFailed.one("valid_until", gettext("A policy must end after it starts."))
    # Nothing excluded: the overlap constraint spans organization, priority and tier.
    validated(policy)


def _current(organization: Organization, policy: SlaPolicy) -> SlaPolicy:
    found = (
        SlaPolicy.objects.select_for_update()
        .filter(organization_id=organization.id, pk=policy.pk)
        .first()
    )
    if found is None:
        raise NotFound(gettext("no such SLA policy"), field="policy")
    return found


@tenant_atomic
def sla_policy_create(
    *,
    organization: Organization,
    actor: User | None,
    name: str,
    priority: str,
    customer_tier: str,
    first_response_minutes: int,
    resolution_minutes: int,
    business_hours: bool = True,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> SlaPolicy:
    """An active policy, valid from `valid_from` (default: now) until `valid_until` (open)."""
    ensure_may_manage(actor)
    policy = SlaPolicy(
        organization=organization, name=(name or "").strip(), priority=priority,
        customer_tier=customer_tier, first_response_minutes=first_response_minutes,
        resolution_minutes=resolution_minutes, business_hours=business_hours, is_active=True,
        # A real value, not the column's default: full_clean checks overlaps with it.
        valid_from=valid_from or timezone.now(), valid_until=valid_until,
    )  # fmt: skip
    _validate(policy)
    with events.announce(events.SLA_POLICY_CREATED, organization, actor, policy):
        policy.save()
    return policy


@tenant_atomic
def sla_policy_update(
    *, organization: Organization, actor: User | None, policy: SlaPolicy, **changes: Any
) -> SlaPolicy:
    """Change a policy's name, targets, counting or validity; (re)activate it.

    Priority and customer tier cannot change (create another policy instead).
    """
    ensure_may_manage(actor)
    unknown = set(changes) - CHANGEABLE
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed.one(
            field, gettext("%(field)s cannot be changed; create a new policy.") % {"field": field}
        )
    for field in sorted(NOT_NULL & set(changes)):
        if changes[field] is None:
            raise ValidationFailed.one(
                field, gettext("%(field)s cannot be null.") % {"field": field}
            )
    current = _current(organization, policy)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    update = model_update(current, fields=CHANGEABLE, data=changes)
    if not update:
        return current
    _validate(current)
    with events.announce(events.SLA_POLICY_UPDATED, organization, actor, current, **update.changes):
        update.save()
    return current


@tenant_atomic
def sla_policy_deactivate(
    *, organization: Organization, actor: User | None, policy: SlaPolicy
) -> SlaPolicy:
    """No new ticket gets this policy; tickets that have it keep their due times.

    Deactivating an inactive policy changes nothing (and announces nothing).
    """
    ensure_may_manage(actor)
    current = _current(organization, policy)
    if not current.is_active:
        return current
    with events.announce(events.SLA_POLICY_DEACTIVATED, organization, actor, current) as change:
        current.is_active = False
        current.save(update_fields=["is_active"])
        current.refresh_from_db(fields=["updated_at"])
        change.changes["is_active"] = (True, False)
    return current
