"""Writes to people and teams, each in one transaction under the tenant."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils.translation import gettext

from deskbase.accounts.models import STAFF_ROLES, Role, Team, TeamMembership, User
from deskbase.core import events
from deskbase.core.errors import (
    PermissionDenied,
    ValidationFailed,
    from_integrity_error,
    validated,
)
from deskbase.core.tenancy import tenant_atomic
from deskbase.core.updates import model_update
from deskbase.organizations.models import Organization

# The rank rule: managers create, manage and grant these roles only; admins every role.
MANAGER_MANAGES = (Role.AGENT, Role.CUSTOMER)
# What anyone may change on their own profile (availability: agents only, by the model).
SELF_SERVICE = frozenset({"full_name", "availability", "language", "timezone"})
PROFILE_FIELDS = frozenset(
    {"full_name", "role", "customer_tier", "availability", "skills", "max_concurrent_tickets",
     "is_active", "language", "timezone"}
)  # fmt: skip


def _clean(instance: Any, exclude: list[str] | None = None, **full_clean: Any) -> None:
    validated(instance, exclude=exclude, **full_clean)


def _ensure_admin(actor: User | None) -> None:
    # None: an operator command (the owner role), which may do anything.
    if actor is not None and actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(gettext("only admins and managers may manage people and teams"))


def _ensure_may_manage(actor: User | None, *roles: str) -> None:
    """Managers manage agents and customers; only admins manage managers and admins."""
    _ensure_admin(actor)
    senior = any(role in (Role.ADMIN, Role.MANAGER) for role in roles)
    if actor is not None and actor.role == Role.MANAGER and senior:
        raise PermissionDenied(gettext("only admins may manage managers and admins"))


def grantable_roles(actor: User) -> list[tuple[str, str]]:
    """The roles (value, label) the actor may give someone: what a form offers."""
    if actor.role == Role.ADMIN:
        return [(value, str(label)) for value, label in Role.choices]
    if actor.role == Role.MANAGER:
        return [(value, str(label)) for value, label in Role.choices if value in MANAGER_MANAGES]
    return []


def _ensure_not_demoting_self(actor: User | None, user: User, changes: dict[str, Any]) -> None:
    """Nobody changes their own role or deactivates themselves: an organization could
    lose its last admin, and a role is granted by someone else."""
    if actor is None or actor.id != user.id:
        return
    if "role" in changes and changes["role"] != user.role:
        raise ValidationFailed.one("role", gettext("You cannot change your own role."))
    if changes.get("is_active") is False:
        raise ValidationFailed.one("is_active", gettext("You cannot deactivate yourself."))


def _check_password(password: str | None, user: User) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), for every path
    that sets a password; None means the person cannot sign in yet."""
    if password is None:
        return
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationFailed({"password": list(error.messages)}) from None


@tenant_atomic
def user_create(
    *,
    organization: Organization,
    actor: User | None,
    email: str,
    password: str | None = None,
    role: str = Role.CUSTOMER,
    **fields: Any,
) -> User:
    _ensure_may_manage(actor, role)
    if role in STAFF_ROLES:
        fields.setdefault("availability", "offline")
    user = User(organization=organization, email=(email or "").strip().lower(), role=role, **fields)
    _check_password(password, user)
    user.set_password(password)
    # The fields only (formats, choices: no queries); the unique and check constraints
    # are PostgreSQL's to enforce on the insert, their violation mapped to the field.
    _clean(user, exclude=["password", "organization"], validate_unique=False,
           validate_constraints=False)  # fmt: skip
    try:
        with events.announce(events.USER_CREATED, organization, actor, user):
            user.save()
    except IntegrityError as error:
        raise _constraint_violated(error) from error
    return user


def _constraint_violated(error: IntegrityError) -> Exception:
    """The model's own message for the constraint a user insert violated."""
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    for constraint in User._meta.constraints:
        code = getattr(constraint, "violation_error_code", None)
        if constraint.name == name and code:
            return ValidationFailed.one(code, str(constraint.violation_error_message))
    return from_integrity_error(error) or error


@tenant_atomic
def user_update(
    *, organization: Organization, actor: User | None, user: User, **changes: Any
) -> User:
    """Change a profile; a new customer tier recomputes the SLA of their open tickets.

    Your own name (and, for agents, availability) is yours to change; everything else
    is for admins and managers (managers: of agents and customers). No changes at all
    still checks the permission, so the answer does not depend on what was sent.
    """
    _ensure_not_demoting_self(actor, user, changes)
    if actor is None or actor.id != user.id or set(changes) - SELF_SERVICE:
        _ensure_may_manage(actor, user.role, changes.get("role", user.role))
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed.one(
            field, gettext("%(field)s cannot be changed here.") % {"field": field}
        )
    if user.organization_id != organization.id:
        raise ValidationFailed.one("user", gettext("No such user in this organization."))
    if not changes:
        return user
    current = User.objects.select_for_update().get(pk=user.pk)
    update = model_update(current, fields=PROFILE_FIELDS, data=changes)
    if not update:
        return current
    _clean(current, exclude=["password"])
    with events.announce(events.USER_UPDATED, organization, actor, current, **update.changes):
        update.save()
        if "customer_tier" in update.changes:
            _recompute_customer_sla(current)
    return current


def _recompute_customer_sla(customer: User) -> None:
    from django.db.models import F
    from django.utils import timezone

    from deskbase.sla.services import sla_recompute
    from deskbase.tickets.models import ACTIVE_STATUSES, Ticket

    now = timezone.now()
    tickets = Ticket.objects.select_for_update().filter(
        customer=customer, status__in=ACTIVE_STATUSES
    )
    for ticket in tickets.order_by("id"):
        ticket.customer = customer
        fields = sla_recompute(ticket, reason="customer tier changed", at=now)
        if fields:
            ticket.version = F("version") + 1
            ticket.save(update_fields=[*fields, "version"])


@tenant_atomic
def team_create(
    *, organization: Organization, actor: User | None, name: str, description: str = ""
) -> Team:
    _ensure_admin(actor)
    team = Team(organization=organization, name=(name or "").strip(), description=description)
    _clean(team)
    team.save()
    return team


@tenant_atomic
def team_add_member(
    *, organization: Organization, actor: User | None, team: Team, user: User
) -> TeamMembership:
    _ensure_admin(actor)
    for field, obj in (("team", team), ("user", user)):
        if obj.organization_id != organization.id:
            raise ValidationFailed.one(
                field, gettext("No such %(field)s in this organization.") % {"field": field}
            )
    if user.role not in STAFF_ROLES:
        raise ValidationFailed.one("user", gettext("Only agents can join a team."))
    membership, _ = TeamMembership.objects.get_or_create(
        organization=organization, team=team, user=user
    )
    return membership


@tenant_atomic
def team_remove_member(
    *, organization: Organization, actor: User | None, team: Team, user: User
) -> None:
    """Take an agent out of a team (admins and managers); their tickets stay as they are."""
    _ensure_admin(actor)
    for field, obj in (("team", team), ("user", user)):
        if obj.organization_id != organization.id:
            raise ValidationFailed.one(
                field, gettext("No such %(field)s in this organization.") % {"field": field}
            )
    deleted, _ = TeamMembership.objects.filter(
        organization_id=organization.id, team_id=team.pk, user_id=user.pk
    ).delete()
    if not deleted:
        raise ValidationFailed.one("user", gettext("This person is not in the team."))


@tenant_atomic
def user_soft_delete(
    *, organization: Organization, actor: User | None, user: User, reason: str = ""
) -> User:
    """Remove a person: hidden, signed out for good, their tickets kept."""
    _ensure_may_manage(actor, user.role)
    if actor is not None and actor.id == user.id:
        raise ValidationFailed.one("user", gettext("You cannot delete yourself."))
    current = User.all_objects.select_for_update().get(pk=user.pk)
    with events.announce(events.USER_SOFT_DELETED, organization, actor, current):
        current.is_active = False
        current.save(update_fields=["is_active"])
        current.soft_delete(actor, reason)
    return current


@tenant_atomic
def user_restore(*, organization: Organization, actor: User | None, user: User) -> User:
    _ensure_may_manage(actor, user.role)
    current = User.all_objects.select_for_update().get(pk=user.pk)
    with events.announce(events.USER_RESTORED, organization, actor, current):
        current.restore(actor)
        current.is_active = True
        current.save(update_fields=["is_active"])
    return current
