"""Teams and their members (admins and managers)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from deskbase.accounts import services as people
from deskbase.accounts.models import Team, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.tickets.access import caller_organization
from deskbase.web import selectors
from deskbase.web.views.common import domain_errors, manager_required
from deskbase.web.views.manage.forms import action, owned
from deskbase.web.views.tickets import reference


@manager_required
@domain_errors
def teams(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        people.team_create(
            organization=caller_organization(user), actor=user,
            name=request.POST.get("name", ""), description=request.POST.get("description", ""),
        )  # fmt: skip
        messages.success(request, gettext("Team created."))
        return redirect("web:manage_teams")
    rows, staff = selectors.teams_with_staff(actor=user)
    return render(request, "web/manage/teams.html",
                  {"teams": rows, "staff": staff, "section": "teams"})  # fmt: skip


@action("manage_teams")
def team_member_add(request: AuthedRequest, team_id: int) -> str:
    user = request.user
    team = reference(Team, user, team_id, "team")
    member = reference(User, user, request.POST.get("user"), "user")
    if member is None:
        raise ValidationFailed.one("user", gettext("Choose an agent."))
    people.team_add_member(
        organization=caller_organization(user), actor=user, team=team, user=member
    )
    said = gettext("%(person)s joined %(team)s.")
    return said % {"person": member.full_name or member.email, "team": team.name}


@action("manage_teams")
def team_member_remove(request: AuthedRequest, team_id: int, user_id: int) -> str:
    user = request.user
    team = owned(Team, user, team_id, "team")
    member = owned(User, user, user_id, "user")
    people.team_remove_member(organization=caller_organization(user), actor=user, team=team,
                              user=member)  # fmt: skip
    said = gettext("%(person)s left %(team)s.")
    return said % {"person": member.full_name or member.email, "team": team.name}
