"""The named cache accessors of the hot reads, and what invalidates each (docs/caching.md).

- organization_settings (entry "organization"): organization.updated; any save of
  the organization or of one of its holidays.
- sla_policies: sla_policy.created/updated/deactivated; any save of a policy.
- category_tree ("categories"): any save or delete of a category.
- agent_roster: user.created/updated/soft_deleted/restored; any save of a user but
  a sign-in's last_login.
- canned_responses: canned_response.created/updated/soft_deleted; a use (the
  usage_count shown in the list); any save.

Domain events are the contract; the model signals are the safety net for writes
made outside the services (admin, operator scripts, test factories). Both only
schedule a bump after the commit (deskbase.core.cache). Each value is read under
its own tenant, so row-level security applies to the loader as to any read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import F, Prefetch
from django.db.models.signals import post_delete, post_save

from deskbase.accounts.models import STAFF_ROLES, User
from deskbase.core import events
from deskbase.core.cache import cached, forget, invalidate_on_commit
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Holiday, Organization
from deskbase.sla.calendar import BusinessCalendar
from deskbase.sla.models import SlaPolicy
from deskbase.tickets.models import CannedResponse, Category

ORGANIZATION = "organization"
SLA_POLICIES = "sla_policies"
CATEGORIES = "categories"
AGENT_ROSTER = "agent_roster"
CANNED_RESPONSES = "canned_responses"
NAMES = (ORGANIZATION, SLA_POLICIES, CATEGORIES, AGENT_ROSTER, CANNED_RESPONSES)


def _org_id(organization: Any) -> int:
    return organization if isinstance(organization, int) else organization.id


def _read(organization_id: int, query: Callable[[], Any]) -> Any:
    # Under the entry's own tenant: a loader never sees (or caches) another's rows.
    with tenant(organization_id, savepoint=False):
        return query()


# ------------------------------------------------------------------ accessors
def organization_settings(organization: Organization | int) -> Organization:
    """The organization (name, time zone, business hours, settings) with its holidays by date."""
    org_id = _org_id(organization)
    holidays = Prefetch("holidays", queryset=Holiday.objects.order_by("date", "id"))
    return cached(
        ORGANIZATION,
        org_id,
        lambda: _read(
            org_id, lambda: Organization.objects.prefetch_related(holidays).get(pk=org_id)
        ),
    )


def business_calendar(organization: Organization | int) -> BusinessCalendar:
    """The organization's SLA calendar, from its cached settings and holidays."""
    org = organization_settings(organization)
    holidays = frozenset(holiday.date for holiday in org.holidays.all())
    return BusinessCalendar(org.timezone, org.business_hours, holidays)


def sla_policies(organization: Organization | int) -> list[SlaPolicy]:
    """Every SLA policy, active or not, by priority, customer tier and start."""
    org_id = _org_id(organization)
    return cached(
        SLA_POLICIES,
        org_id,
        lambda: _read(
            org_id,
            lambda: list(
                SlaPolicy.objects.filter(organization_id=org_id).order_by(
                    "priority", "customer_tier", "valid_from", "id"
                )
            ),
        ),
    )


def active_policy(
    organization: Organization | int, *, priority: str, customer_tier: str, at: datetime
) -> SlaPolicy | None:
    """The active policy for (priority, tier) valid at `at` (at most one: an exclusion
    constraint forbids overlaps); the latest start wins, as in the SQL it replaces."""
    found = [
        policy
        for policy in sla_policies(organization)
        if policy.is_active
        and policy.priority == priority
        and policy.customer_tier == customer_tier
        and policy.valid_from <= at
        and (policy.valid_until is None or policy.valid_until > at)
    ]
    return max(found, key=lambda p: (p.valid_from, p.id)) if found else None


def category_tree(organization: Organization | int) -> list[Category]:
    """Every category of the organization, parents before children, by name."""
    org_id = _org_id(organization)

    def load() -> list[Category]:
        rows = list(Category.objects.filter(organization_id=org_id).order_by("name", "id"))
        by_parent: dict[int | None, list[Category]] = {}
        for row in rows:
            by_parent.setdefault(row.parent_id, []).append(row)
        ordered: list[Category] = []
        stack = list(reversed(by_parent.get(None, [])))
        while stack:  # depth first: a node, then its subtree
            node = stack.pop()
            ordered.append(node)
            stack.extend(reversed(by_parent.get(node.id, [])))
        return ordered

    return cached(CATEGORIES, org_id, lambda: _read(org_id, load))


def category(organization: Organization | int, category_id: int) -> Category | None:
    return next((c for c in category_tree(organization) if c.id == category_id), None)


def agent_roster(organization: Organization | int) -> list[User]:
    """Active staff (agents, managers, admins) with availability, skills and limits, by name."""
    org_id = _org_id(organization)
    return cached(
        AGENT_ROSTER,
        org_id,
        lambda: _read(
            org_id,
            lambda: list(
                User.objects.filter(
                    organization_id=org_id, role__in=STAFF_ROLES, is_active=True
                ).order_by("full_name", "id")
            ),
        ),
    )


def roster_member(organization: Organization | int, user_id: int) -> User | None:
    return next((u for u in agent_roster(organization) if u.id == user_id), None)


def canned_responses(organization: Organization | int) -> list[CannedResponse]:
    """Every live canned response, shared and personal, by name (shared first)."""
    org_id = _org_id(organization)
    return cached(
        CANNED_RESPONSES,
        org_id,
        lambda: _read(
            org_id,
            lambda: list(
                CannedResponse.objects.filter(organization_id=org_id).order_by(
                    "name", F("owner_id").asc(nulls_first=True), "id"
                )
            ),
        ),
    )


def warm(organization: Organization | int) -> list[str]:
    """Load every entry of the organization; returns the names loaded."""
    organization_settings(organization)
    sla_policies(organization)
    category_tree(organization)
    agent_roster(organization)
    canned_responses(organization)
    return list(NAMES)


def invalidate_all(organization: Organization | int) -> None:
    """Drop every entry of the organization now (operator commands)."""
    forget(NAMES, _org_id(organization))


def invalidate_every_organization() -> int:
    """Drop every entry of every organization now (after a bulk load); returns how many."""
    ids = list(Organization.all_objects.values_list("id", flat=True))
    for org_id in ids:
        invalidate_all(org_id)
    return len(ids)


# ------------------------------------------------------------------ invalidation
EVENTS = {
    "organization.updated": ORGANIZATION,
    "sla_policy.created": SLA_POLICIES,
    "sla_policy.updated": SLA_POLICIES,
    "sla_policy.deactivated": SLA_POLICIES,
    "canned_response.created": CANNED_RESPONSES,
    "canned_response.updated": CANNED_RESPONSES,
    "canned_response.soft_deleted": CANNED_RESPONSES,
    "user.created": AGENT_ROSTER,
    "user.updated": AGENT_ROSTER,
    "user.soft_deleted": AGENT_ROSTER,
    "user.restored": AGENT_ROSTER,
}


def _on_event(event: events.Event) -> None:
    # In the "after" phase, inside the write's transaction: the bump itself waits
    # for the commit (and marks the entry as bypassed for this transaction).
    invalidate_on_commit(event.organization_id, EVENTS[event.name])


MODELS: dict[type, tuple[str, Callable[[Any], int | None]]] = {
    Organization: (ORGANIZATION, lambda row: row.pk),
    Holiday: (ORGANIZATION, lambda row: row.organization_id),
    SlaPolicy: (SLA_POLICIES, lambda row: row.organization_id),
    Category: (CATEGORIES, lambda row: row.organization_id),
    User: (AGENT_ROSTER, lambda row: row.organization_id),
    CannedResponse: (CANNED_RESPONSES, lambda row: row.organization_id),
}


def _on_save(sender: type, instance: Any, update_fields: Any = None, **_: Any) -> None:
    if sender is User and update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a sign-in changes nothing the roster shows
    name, organization_of = MODELS[sender]
    invalidate_on_commit(organization_of(instance), name)


def _on_delete(sender: type, instance: Any, **_: Any) -> None:
    name, organization_of = MODELS[sender]
    invalidate_on_commit(organization_of(instance), name)


def connect() -> None:
    """Subscribe the invalidations (OrganizationsConfig.ready)."""
    for name in EVENTS:
        events.subscribe(name, "after")(_on_event)
    for model in MODELS:
        post_save.connect(_on_save, sender=model, dispatch_uid=f"cache-save-{model.__name__}")
        post_delete.connect(_on_delete, sender=model, dispatch_uid=f"cache-delete-{model.__name__}")
