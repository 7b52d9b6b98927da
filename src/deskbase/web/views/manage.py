"""Tenant administration for admins and managers: organization, hours, SLA, teams, people,
canned responses. The services decide the finer rules (docs/permissions.md): only admins
change the organization's settings, managers manage agents and customers only."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from deskbase.accounts import services as people
from deskbase.accounts.models import STAFF_ROLES, Availability, CustomerTier, Role, Team, User
from deskbase.api.organization import MAX_TARGET_MINUTES  # the PATCH API's bound
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations import services as org_services
from deskbase.organizations.models import Holiday, Organization
from deskbase.organizations.settings_services import organization_settings_update
from deskbase.sla import policies
from deskbase.sla.models import SlaPolicy
from deskbase.tickets import canned
from deskbase.tickets.models import CannedResponse, Priority
from deskbase.web.views.common import (
    MANAGERS,
    domain_errors,
    error_text,
    manager_required,
    organization_of,
    staff_required,
)
from deskbase.web.views.tickets import reference

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$")
PEOPLE_PAGE = 50
# What a manager may create and manage; admins may do all of it (api/people.py).
MANAGER_MANAGES = (Role.AGENT, Role.CUSTOMER)


def _owned(model: type, user: User, pk: int, what: str) -> Any:
    """A row of the caller's organization named in the address; any other id is a 404."""
    with tenant(user.organization_id, user, savepoint=False):
        found = model.objects.filter(organization_id=user.organization_id, pk=pk).first()
    if found is None:
        raise NotFound(f"no such {what}")
    return found


def _minutes(post: Any, field: str) -> int:
    raw = post.get(field, "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TARGET_MINUTES:
        raise ValidationFailed.one(
            field, f"A whole number of minutes, from 1 to {MAX_TARGET_MINUTES}."
        )
    return int(raw)


def _hours_text(spans: list[list[str]]) -> str:
    return ", ".join(f"{start}-{end}" for start, end in spans)


def _parse_hours(post: Any) -> dict[str, list[list[str]]]:
    hours: dict[str, list[list[str]]] = {}
    for day in DAYS:
        spans = []
        for part in (p for p in post.get(f"hours_{day}", "").split(",") if p.strip()):
            match = _SPAN.match(part)
            if match is None:
                raise ValidationFailed.one(
                    "business_hours", f"{day}: write spans as 09:00-17:00, separated by commas."
                )
            spans.append([match.group(1), match.group(2)])
        hours[day] = spans
    return hours


@manager_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return redirect("web:manage_organization")


@manager_required
@domain_errors
def organization(request: HttpRequest) -> HttpResponse:
    """Settings and business hours (admins change them; managers read), and holidays."""
    user = request.user
    if request.method == "POST":
        organization_settings_update(
            organization=organization_of(user), actor=user, name=request.POST.get("name", ""),
            timezone=request.POST.get("timezone", ""), business_hours=_parse_hours(request.POST),
        )  # fmt: skip
        messages.success(request, "Organization settings saved.")
        return redirect("web:manage_organization")
    holidays = Prefetch("holidays", queryset=Holiday.objects.order_by("date", "id"))
    with tenant(user.organization_id, user, savepoint=False):
        org = Organization.objects.prefetch_related(holidays).get(pk=user.organization_id)
    hours = [(day, _hours_text(org.business_hours.get(day, []))) for day in DAYS]
    return render(request, "web/manage/organization.html", {
        "org": org, "hours": hours, "may_edit": user.role == Role.ADMIN, "section": "org",
    })  # fmt: skip


@manager_required
@require_POST
@domain_errors
def holiday_add(request: HttpRequest) -> HttpResponse:
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        raise ValidationFailed.one("date", "Give the date as YYYY-MM-DD.") from None
    name = request.POST.get("name", "").strip()
    if not name:
        raise ValidationFailed.one("name", "Name the holiday.")
    org_services.holiday_add(organization=organization_of(request.user), date=day, name=name)
    messages.success(request, "Holiday added.")
    return redirect("web:manage_organization")


@manager_required
@require_POST
@domain_errors
def holiday_remove(request: HttpRequest, holiday_id: int) -> HttpResponse:
    user = request.user
    holiday = org_services.holiday_remove(
        organization=organization_of(user), actor=user, holiday_id=holiday_id
    )
    messages.success(request, f"Holiday {holiday.date:%Y-%m-%d} removed.")
    return redirect("web:manage_organization")


# ------------------------------------------------------------------ SLA policies
# The inputs of the policy forms, by the field a service error names.
SLA_INPUTS = {"name": "p-name", "priority": "p-priority", "customer_tier": "p-tier",
              "first_response_minutes": "p-first", "resolution_minutes": "p-res",
              "business_hours": "p-business"}  # fmt: skip


def _sla_values(post: Any, policy: SlaPolicy | None = None) -> dict[str, Any]:
    """What the form sent, as typed: shown again when the form is refused."""
    return {
        "name": post.get("name", "").strip(),
        "priority": policy.priority if policy else post.get("priority", ""),
        "customer_tier": policy.customer_tier if policy else post.get("customer_tier", ""),
        "first_response_minutes": post.get("first_response_minutes", "").strip(),
        "resolution_minutes": post.get("resolution_minutes", "").strip(),
        "business_hours": post.get("business_hours") == "on",
    }


def _sla_input(post: Any) -> dict[str, Any]:
    """Name, targets and clock checked together: every bad field is named at once."""
    errors: dict[str, list[str]] = {}
    name = post.get("name", "").strip()
    if not name or len(name) > 120:
        errors["name"] = ["Name the policy (at most 120 characters)."]
    minutes = {}
    for field in ("first_response_minutes", "resolution_minutes"):
        try:
            minutes[field] = _minutes(post, field)
        except ValidationFailed as failed:
            errors.update(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, **minutes, "business_hours": post.get("business_hours") == "on"}


def _sla_errors(failed: ValidationFailed, values: dict[str, Any]) -> dict[str, Any]:
    """Each error beside the input it is about; the rest (the overlap of two policies,
    checked on their validity period, which the form does not show) in plain words."""
    fields, general = {}, []
    for field, texts in failed.errors.items():
        if field in SLA_INPUTS:
            fields[field] = " ".join(texts)
        elif field in ("valid_from", "valid_until"):
            priority = dict(Priority.choices).get(values["priority"], values["priority"])
            tier = dict(CustomerTier.choices).get(values["customer_tier"], values["customer_tier"])
            general.append(
                f"An active policy for {priority} priority and {tier} customers already"
                " exists: edit it, or deactivate it before creating this one."
            )
        else:
            general.extend(texts)
    return {"fields": fields, "general": general}


@manager_required
@domain_errors
def sla_policies(request: HttpRequest) -> HttpResponse:
    """The policies, and the form for a new one (sent back filled in when refused)."""
    user = request.user
    values: dict[str, Any] = {"business_hours": True}
    errors: dict[str, Any] = {}
    if request.method == "POST":
        values = _sla_values(request.POST)
        try:
            policies.sla_policy_create(
                organization=organization_of(user), actor=user, priority=values["priority"],
                customer_tier=values["customer_tier"], **_sla_input(request.POST),
            )  # fmt: skip
        except ValidationFailed as failed:
            errors = _sla_errors(failed, values)
        else:
            messages.success(request, "SLA policy created.")
            return redirect("web:manage_sla")
    with tenant(user.organization_id, user, savepoint=False):
        rows = list(
            SlaPolicy.objects.filter(organization_id=user.organization_id).order_by(
                "-is_active", "priority", "customer_tier", "valid_from", "id"
            )
        )
    return render(request, "web/manage/sla.html", {
        "policies": rows, "priorities": Priority.choices, "tiers": CustomerTier.choices,
        "section": "sla", "values": values, "errors": errors,
    }, status=422 if errors else 200)  # fmt: skip


@manager_required
@require_POST
@domain_errors
def sla_deactivate(request: HttpRequest, policy_id: int) -> HttpResponse:
    user = request.user
    policy = reference(SlaPolicy, user, policy_id, "policy")
    policies.sla_policy_deactivate(organization=organization_of(user), actor=user, policy=policy)
    messages.success(request, f"Policy {policy.name!r} deactivated.")
    return redirect("web:manage_sla")


@manager_required
@domain_errors
def sla_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Name, targets and clock of a policy (what the API's PATCH changes from a form);
    priority and tier never change. Bad input: the form again, each error at its input."""
    user = request.user
    policy = _owned(SlaPolicy, user, policy_id, "SLA policy")
    values = {
        "name": policy.name,
        "first_response_minutes": policy.first_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "business_hours": policy.business_hours,
    }
    errors: dict[str, Any] = {}
    if request.method == "POST":
        values = _sla_values(request.POST, policy)
        try:
            changes = _sla_input(request.POST)
            policies.sla_policy_update(organization=organization_of(user), actor=user,
                                       policy=policy, **changes)  # fmt: skip
        except ValidationFailed as failed:
            errors = _sla_errors(failed, values)
        else:
            messages.success(request, f"Policy {changes['name']!r} saved.")
            return redirect("web:manage_sla")
    return render(request, "web/manage/sla_edit.html", {
        "policy": policy, "values": values, "errors": errors, "section": "sla",
    }, status=422 if errors else 200)  # fmt: skip


# ------------------------------------------------------------------ teams
@manager_required
@domain_errors
def teams(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        people.team_create(
            organization=organization_of(user), actor=user,
            name=request.POST.get("name", ""), description=request.POST.get("description", ""),
        )  # fmt: skip
        messages.success(request, "Team created.")
        return redirect("web:manage_teams")
    members = User.objects.order_by("full_name", "id")
    with tenant(user.organization_id, user, savepoint=False):
        rows = list(
            Team.objects.filter(organization_id=user.organization_id)
            .prefetch_related(Prefetch("members", queryset=members, to_attr="people"))
            .order_by("name", "id")
        )
        staff = list(
            User.objects.filter(
                organization_id=user.organization_id, role__in=STAFF_ROLES
            ).order_by("full_name", "id")
        )
    return render(request, "web/manage/teams.html",
                  {"teams": rows, "staff": staff, "section": "teams"})  # fmt: skip


@manager_required
@require_POST
@domain_errors
def team_member_add(request: HttpRequest, team_id: int) -> HttpResponse:
    user = request.user
    team = reference(Team, user, team_id, "team")
    member = reference(User, user, request.POST.get("user"), "user")
    if member is None:
        raise ValidationFailed.one("user", "Choose an agent.")
    people.team_add_member(organization=organization_of(user), actor=user, team=team,
                           user=member)  # fmt: skip
    messages.success(request, f"{member.full_name or member.email} joined {team.name}.")
    return redirect("web:manage_teams")


@manager_required
@require_POST
@domain_errors
def team_member_remove(request: HttpRequest, team_id: int, user_id: int) -> HttpResponse:
    user = request.user
    team = _owned(Team, user, team_id, "team")
    member = _owned(User, user, user_id, "user")
    people.team_remove_member(organization=organization_of(user), actor=user, team=team,
                              user=member)  # fmt: skip
    messages.success(request, f"{member.full_name or member.email} left {team.name}.")
    return redirect("web:manage_teams")


# ------------------------------------------------------------------ people
def _ensure_may_manage(actor: User, target: User | None, role: str | None) -> None:
    """The API's rank rule: managers manage and grant agents and customers only."""
    if actor.role != Role.MANAGER:
        return
    if target is not None and target.role not in MANAGER_MANAGES:
        raise PermissionDenied("managers may manage agents and customers only")
    if role is not None and role not in MANAGER_MANAGES:
        raise PermissionDenied(f"only admins may make someone {role}")


@manager_required
@domain_errors
def people_list(request: HttpRequest) -> HttpResponse:
    """People by id, a keyset page at a time; removed people on their own list."""
    user = request.user
    if request.method == "POST":
        role = request.POST.get("role", Role.CUSTOMER)
        _ensure_may_manage(user, None, role)
        email = request.POST.get("email", "").strip()
        full_name = request.POST.get("full_name", "").strip()
        password = request.POST.get("password") or None
        if password is not None:
            try:
                password_validation.validate_password(
                    password, User(email=email, full_name=full_name)
                )
            except ValidationError as error:
                raise ValidationFailed({"password": list(error.messages)}) from None
        people.user_create(
            organization=organization_of(user), actor=user, email=email, password=password,
            role=role, full_name=full_name,
        )  # fmt: skip
        messages.success(request, f"{email} added.")
        return redirect("web:manage_people")
    removed = request.GET.get("removed") == "1"
    role = request.GET.get("role") if request.GET.get("role") in Role.values else None
    after = request.GET.get("after", "")
    rows_qs = User.all_objects.filter(
        organization_id=user.organization_id, deleted_at__isnull=not removed
    )
    if role:
        rows_qs = rows_qs.filter(role=role)
    if after.isdigit():
        rows_qs = rows_qs.filter(pk__gt=int(after))
    with tenant(user.organization_id, user, savepoint=False):
        rows = list(rows_qs.order_by("pk")[: PEOPLE_PAGE + 1])
    more = len(rows) > PEOPLE_PAGE
    rows = rows[:PEOPLE_PAGE]
    grantable = Role.choices if user.role == Role.ADMIN else [
        c for c in Role.choices if c[0] in MANAGER_MANAGES
    ]  # fmt: skip
    return render(request, "web/manage/people.html", {
        "people": rows, "next_after": rows[-1].pk if more else None, "removed": removed,
        "role": role or "", "roles": Role.choices, "grantable": grantable, "section": "people",
    })  # fmt: skip


EDITABLE_PROFILE = ("full_name", "role", "customer_tier", "availability",
                    "max_concurrent_tickets", "is_active")  # fmt: skip


def _profile_changes(post: Any, person: User) -> dict[str, Any]:
    """The fields the form changed, parsed; unchanged ones are left out."""
    wanted: dict[str, Any] = {
        "full_name": post.get("full_name", person.full_name).strip(),
        "role": post.get("role", person.role),
        "is_active": post.get("is_active") == "on",
    }
    if person.role == Role.CUSTOMER:
        wanted["customer_tier"] = post.get("customer_tier", person.customer_tier)
    else:
        wanted["availability"] = post.get("availability") or person.availability
        raw = post.get("max_concurrent_tickets", "")
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise ValidationFailed.one("max_concurrent_tickets", "A number from 1 to 100.")
        wanted["max_concurrent_tickets"] = int(raw)
    return {k: v for k, v in wanted.items() if getattr(person, k) != v}


@manager_required
@domain_errors
def person_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    """A person's profile: the API's rules (nobody changes their own role or deactivates
    themselves; managers manage agents and customers and grant neither senior role)."""
    user = request.user
    person = _owned(User, user, user_id, "person")  # another tenant's or none: a 404
    if request.method == "POST":
        changes = _profile_changes(request.POST, person)
        if person.id == user.id and "role" in changes:
            raise ValidationFailed.one("role", "You cannot change your own role.")
        if person.id == user.id and changes.get("is_active") is False:
            raise ValidationFailed.one("is_active", "You cannot deactivate yourself.")
        _ensure_may_manage(user, person if person.id != user.id else None, changes.get("role"))
        if changes:
            people.user_update(organization=organization_of(user), actor=user, user=person,
                               **changes)  # fmt: skip
        messages.success(request, f"{person.email} saved.")
        return redirect("web:manage_person", user_id=person.id)
    grantable = Role.choices if user.role == Role.ADMIN else [
        c for c in Role.choices if c[0] in MANAGER_MANAGES
    ]  # fmt: skip
    return render(request, "web/manage/person.html", {
        "person": person, "grantable": grantable, "tiers": CustomerTier.choices,
        "availabilities": Availability.choices, "section": "people",
    })  # fmt: skip


@manager_required
@require_POST
@domain_errors
def person_remove(request: HttpRequest, user_id: int) -> HttpResponse:
    user = request.user
    target = _owned(User, user, user_id, "person")
    _ensure_may_manage(user, target, None)
    people.user_soft_delete(organization=organization_of(user), actor=user, user=target)
    messages.success(request, f"{target.email} removed.")
    return redirect("web:manage_people")


@manager_required
@require_POST
@domain_errors
def person_restore(request: HttpRequest, user_id: int) -> HttpResponse:
    user = request.user
    with tenant(user.organization_id, user, savepoint=False):
        target = User.all_objects.filter(
            organization_id=user.organization_id, pk=user_id, deleted_at__isnull=False
        ).first()
    if target is None:
        raise ValidationFailed.one("user", "No such removed person here.")
    _ensure_may_manage(user, target, None)
    people.user_restore(organization=organization_of(user), actor=user, user=target)
    messages.success(request, f"{target.email} restored.")
    return redirect("web:manage_people")


# ------------------------------------------------------------------ canned responses
@staff_required
@domain_errors
def canned_responses(request: HttpRequest) -> HttpResponse:
    """Shared responses (admins and managers manage them) and the caller's own."""
    user = request.user
    if request.method == "POST":
        canned.canned_response_create(
            organization=organization_of(user), actor=user, name=request.POST.get("name", ""),
            body=request.POST.get("body", ""),
            personal=user.role not in MANAGERS or request.POST.get("personal") == "on",
        )  # fmt: skip
        messages.success(request, "Canned response saved.")
        return redirect("web:manage_canned")
    rows = canned.canned_responses_for(organization=organization_of(user), actor=user)
    return render(request, "web/manage/canned.html", {
        "responses": rows, "may_share": user.role in MANAGERS,
        "placeholders": list(canned.PLACEHOLDERS), "section": "canned",
    })  # fmt: skip


@staff_required
@require_POST
@domain_errors
def canned_delete(request: HttpRequest, canned_id: int) -> HttpResponse:
    user = request.user
    canned.canned_response_delete(
        organization=organization_of(user), actor=user,
        canned=CannedResponse(pk=canned_id, organization_id=user.organization_id),
    )  # fmt: skip
    messages.success(request, "Canned response deleted.")
    return redirect("web:manage_canned")


@staff_required
@domain_errors
def canned_edit(request: HttpRequest, canned_id: int) -> HttpResponse:
    """Rename or rewrite a response (the API's PATCH: name and body; whether it is shared
    never changes). Shared ones: admins and managers (an agent gets a 403); someone
    else's personal one, like another tenant's, is a 404."""
    user = request.user
    with tenant(user.organization_id, user, savepoint=False):
        found = (
            CannedResponse.objects.filter(organization_id=user.organization_id, pk=canned_id)
            .filter(Q(owner__isnull=True) | Q(owner_id=user.id))
            .first()
        )
    if found is None:
        raise NotFound("no such canned response")
    if found.owner_id is None and user.role not in MANAGERS:
        raise PermissionDenied("only admins and managers may manage shared canned responses")
    values = {"name": found.name, "body": found.body}
    error = ""
    if request.method == "POST":
        values = {"name": request.POST.get("name", ""), "body": request.POST.get("body", "")}
        try:
            for field, text in values.items():
                if not text.strip():
                    raise ValidationFailed.one(field, f"The {field} cannot be empty.")
            canned.canned_response_update(organization=organization_of(user), actor=user,
                                          canned=found, **values)  # fmt: skip
        except ValidationFailed as failed:
            error = error_text(failed)
        else:
            messages.success(request, "Canned response saved.")
            return redirect("web:manage_canned")
    return render(request, "web/manage/canned_edit.html", {
        "canned": found, "values": values, "error": error,
        "placeholders": list(canned.PLACEHOLDERS), "section": "canned",
    }, status=422 if error else 200)  # fmt: skip
