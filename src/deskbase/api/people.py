"""/api/v1/users and /api/v1/teams: people of the organization and teams of agents.

Who sees whom:
- staff (agents, managers, admins) list and read every person of their organization;
  admins and managers also the removed ones (`?deleted=true`, and by id);
- a customer lists and reads only themselves (a one-item list; anyone else is a 404).

Who changes whom (accounts.services decides every rule below, for the web pages alike):
- admins create and manage everyone;
- managers create and manage agents and customers, not admins nor other managers,
  and grant neither role;
- everyone may change their own name; agents also their own availability;
- nobody changes their own role or deactivates or removes themselves.
A field the caller may not set is a 403 (or 422 when no one may set it), never ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.db.models import Prefetch, QuerySet
from ninja import Field, Query, Router, Schema, Status

from deskbase.accounts import services
from deskbase.accounts.models import Role, Team, User
from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS, NamedRef, PersonRef
from deskbase.api.tickets import Strict
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets.access import access_row, caller_organization
from deskbase.tickets.permissions import ensure_staff, is_staff_member

router = Router(tags=["people"])

RoleName = Literal["admin", "manager", "agent", "customer"]
TierName = Literal["basic", "premium", "enterprise"]
AvailabilityName = Literal["online", "away", "offline"]
PEOPLE_MANAGERS = (Role.ADMIN, Role.MANAGER)


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    role: str
    customer_tier: str
    availability: str | None
    skills: list[str]
    max_concurrent_tickets: int
    is_active: bool
    date_joined: datetime
    last_active_at: datetime | None
    deleted_at: datetime | None
    teams: list[NamedRef]

    @staticmethod
    def resolve_teams(obj: User) -> list[Team]:
        # Always prefetched by _people(): never a query per person.
        return list(obj.teams.all())


class UserPage(Schema):
    items: list[UserOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class UserQuery(Schema):
    role: list[RoleName] = Field(default_factory=list)
    deleted: bool = Field(False, description="removed people instead (admins, managers)")
    cursor: str | None = Field(None, max_length=20)
    limit: int = Field(50, ge=1, le=200)


class UserIn(Strict):
    email: str = Field(..., min_length=3, max_length=254)
    full_name: str = Field("", max_length=200)
    role: RoleName = "customer"
    password: str | None = Field(None, min_length=1, max_length=1000,
                                 description="none: the person cannot sign in yet")  # fmt: skip
    customer_tier: TierName | None = None
    availability: AvailabilityName | None = None
    skills: list[str] | None = Field(None, max_length=50)
    max_concurrent_tickets: int | None = Field(None, ge=1, le=100)


class UserPatch(Strict):
    full_name: str | None = Field(None, max_length=200)
    role: RoleName | None = None
    customer_tier: TierName | None = None
    availability: AvailabilityName | None = Field(None, description="agents only; null clears")
    skills: list[str] | None = Field(None, max_length=50)
    max_concurrent_tickets: int | None = Field(None, ge=1, le=100)
    is_active: bool | None = None


class TeamOut(Schema):
    id: int
    name: str
    description: str
    members: list[PersonRef]
    created_at: datetime

    @staticmethod
    def resolve_members(obj: Team) -> list[User]:
        return list(getattr(obj, "people", []))


class TeamIn(Strict):
    name: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=2000)


class MemberIn(Strict):
    user_id: int


# ------------------------------------------------------------------ helpers
def _people(actor: User, *, deleted: bool | None = False) -> QuerySet[User]:
    """The people the actor may see (deleted: False live, True removed, None both),
    with their teams in one more query."""
    people = User.all_objects.filter(organization_id=actor.tenant_id)
    if deleted is not None:
        people = people.filter(deleted_at__isnull=not deleted)
    if not is_staff_member(actor):
        people = people.filter(pk=actor.id)
    return people.prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))


def _person(actor: User, user_id: int, *, deleted: bool | None = False) -> User:
    """One person the actor may see, else a 404. Only admins and managers see removed
    people: for anyone else `deleted` True finds nobody and None means False."""
    if actor.role not in PEOPLE_MANAGERS:
        if deleted:
            raise NotFound(f"no user {user_id}", field="user_id")
        deleted = False
    with tenant(actor.organization_id, actor, savepoint=False):
        found = _people(actor, deleted=deleted).filter(pk=user_id).first()
    if found is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return found


def _cursor(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit():
        raise ValidationFailed.one("cursor", "Pass the next_cursor of the previous page.")
    return int(raw)


def _field_as(error: ValidationFailed, field: str, name: str) -> ValidationFailed:
    """A service's error on `field` (a model field) named as the API names it."""
    if field not in error.errors:
        return error
    errors = {name if key == field else key: value for key, value in error.errors.items()}
    return ValidationFailed(errors)


# ------------------------------------------------------------------ people
@router.get("/users", response={200: UserPage, **ERRORS})
def list_users(request: ApiRequest, query: Query[UserQuery]):
    """People by id, one page at a time (a customer: only themselves). Two queries."""
    user = request.auth
    if query.deleted and user.role not in PEOPLE_MANAGERS:
        raise PermissionDenied("only admins and managers may list removed people")
    after = _cursor(query.cursor)
    people = _people(user, deleted=query.deleted).filter(pk__gt=after).order_by("pk")
    if query.role:
        people = people.filter(role__in=query.role)
    with tenant(user.organization_id, user, savepoint=False):
        rows = list(people[: query.limit + 1])
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {"items": rows, "next_cursor": str(rows[-1].pk) if more else None}


@router.get("/users/{user_id}", response={200: UserOut, **ERRORS})
def get_user(request: ApiRequest, user_id: int):
    return _person(request.auth, user_id, deleted=None)


@router.post("/users", response={201: UserOut, **ERRORS})
def create_user(request: ApiRequest, payload: UserIn):
    """Admins create anyone; managers agents and customers."""
    user = request.auth
    fields = {
        key: value
        for key, value in payload.dict(exclude_unset=True).items()
        if key not in ("email", "password", "role")
    }
    for field in ("customer_tier", "skills", "max_concurrent_tickets"):
        if field in fields and fields[field] is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    created = services.user_create(
        organization=caller_organization(user), actor=user, email=payload.email,
        password=payload.password, role=payload.role, **fields,
    )  # fmt: skip
    return Status(201, _person(user, created.pk))


@router.patch("/users/{user_id}", response={200: UserOut, **ERRORS})
def update_user(request: ApiRequest, user_id: int, payload: UserPatch):
    """Change a profile. Your own name (and, for agents, availability) is yours to change;
    everything else is for admins and managers (managers: of agents and customers)."""
    user = request.auth
    target = _person(user, user_id)
    changes: dict[str, Any] = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field != "availability":
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    services.user_update(organization=caller_organization(user), actor=user, user=target,
                         **changes)  # fmt: skip
    return _person(user, user_id)


@router.delete("/users/{user_id}", response={204: None, **ERRORS})
def delete_user(request: ApiRequest, user_id: int, reason: str = ""):
    """Remove a person (soft): signed out for good, their tickets kept; restorable."""
    user = request.auth
    target = _person(user, user_id)
    services.user_soft_delete(organization=caller_organization(user), actor=user, user=target,
                              reason=reason[:500])  # fmt: skip
    return Status(204, None)


@router.post("/users/{user_id}/restore", response={200: UserOut, **ERRORS})
def restore_user(request: ApiRequest, user_id: int):
    user = request.auth
    target = _person(user, user_id, deleted=True)
    services.user_restore(organization=caller_organization(user), actor=user, user=target)
    return _person(user, user_id)


# ------------------------------------------------------------------ teams
def _teams(actor: User) -> QuerySet[Team]:
    members = User.objects.order_by("full_name", "id")
    return (
        Team.objects.filter(organization_id=actor.tenant_id)
        .prefetch_related(Prefetch("members", queryset=members, to_attr="people"))
        .order_by("name", "id")
    )


def _team(actor: User, team_id: int) -> Team:
    with tenant(actor.organization_id, actor, savepoint=False):
        team = _teams(actor).filter(pk=team_id).first()
    if team is None:
        raise NotFound(f"no team {team_id}", field="team_id")
    return team


@router.get("/teams", response={200: list[TeamOut], **ERRORS})
def list_teams(request: ApiRequest):
    """Teams with their members, by name (staff). Two queries."""
    user = request.auth
    ensure_staff(user, "see teams")
    with tenant(user.organization_id, user, savepoint=False):
        return list(_teams(user))


@router.post("/teams", response={201: TeamOut, **ERRORS})
def create_team(request: ApiRequest, payload: TeamIn):
    """Admins and managers."""
    user = request.auth
    team = services.team_create(organization=caller_organization(user), actor=user,
                                name=payload.name, description=payload.description)  # fmt: skip
    return Status(201, _team(user, team.pk))


@router.post("/teams/{team_id}/members", response={200: TeamOut, **ERRORS})
def add_member(request: ApiRequest, team_id: int, payload: MemberIn):
    """Put an agent (any staff member) in the team; already in it is fine. Admins, managers."""
    user = request.auth
    if user.role not in PEOPLE_MANAGERS:
        raise PermissionDenied("only admins and managers may manage teams")
    team = _team(user, team_id)
    member = access_row(User, user, payload.user_id, field="user_id")
    try:
        services.team_add_member(organization=caller_organization(user), actor=user, team=team,
                                 user=member)  # fmt: skip
    except ValidationFailed as error:
        raise _field_as(error, "user", "user_id") from None
    return _team(user, team_id)
