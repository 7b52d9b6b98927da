"""People of the organization: the list, a new person, a profile, removing and restoring.

Who may create, change, grant or remove whom, passwords, and "nobody changes their own
role or deactivates themselves" are accounts.services' rules, the same for the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext

from deskbase.accounts import services as people
from deskbase.accounts import session_control, two_factor
from deskbase.accounts.models import Availability, CustomerTier, Role, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.tickets.access import caller_organization
from deskbase.web import selectors
from deskbase.web.views.common import domain_errors, manager_required
from deskbase.web.views.manage.forms import action, owned

PEOPLE_PAGE = 50


@manager_required
@domain_errors
def people_list(request: AuthedRequest) -> HttpResponse:
    """People by id, a keyset page at a time; removed people on their own list."""
    user = request.user
    if request.method == "POST":
        email = request.POST.get("email", "").strip()
        people.user_create(
            organization=caller_organization(user), actor=user, email=email,
            password=request.POST.get("password") or None,
            role=request.POST.get("role", Role.CUSTOMER),
            full_name=request.POST.get("full_name", "").strip(),
        )  # fmt: skip
        messages.success(request, gettext("%(email)s added.") % {"email": email})
        return redirect("web:manage_people")
    removed = request.GET.get("removed") == "1"
    role = request.GET.get("role") if request.GET.get("role") in Role.values else None
    query = request.GET.get("q", "").strip()[:100]
    after = request.GET.get("after", "")
    rows, next_after = selectors.people_page(
        actor=user, removed=removed, role=role, after=int(after) if after.isdigit() else 0,
        limit=PEOPLE_PAGE, query=query,
    )  # fmt: skip
    kept = request.GET.copy()  # the search and filters, for the next page's link
    kept.pop("after", None)
    return render(request, "web/manage/people.html", {
        "people": rows, "next_after": next_after, "removed": removed, "role": role or "",
        "q": query, "kept": kept.urlencode(), "first_page": not after,
        "roles": Role.choices, "grantable": people.grantable_roles(user), "section": "people",
    })  # fmt: skip


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
            raise ValidationFailed.one("max_concurrent_tickets", gettext("A number from 1 to 100."))
        wanted["max_concurrent_tickets"] = int(raw)
    return {k: v for k, v in wanted.items() if getattr(person, k) != v}


@manager_required
@domain_errors
def person_edit(request: AuthedRequest, user_id: int) -> HttpResponse:
    """A person's profile (the service decides who may change what, as for the API)."""
    user = request.user
    person = owned(User, user, user_id, "person")  # another tenant's or none: a 404
    if request.method == "POST":
        # Called with no changes too: the permission answer does not depend on them.
        people.user_update(organization=caller_organization(user), actor=user, user=person,
                           **_profile_changes(request.POST, person))  # fmt: skip
        messages.success(request, gettext("%(email)s saved.") % {"email": person.email})
        return redirect("web:manage_person", user_id=person.id)
    return render(request, "web/manage/person.html", {
        "person": person, "grantable": people.grantable_roles(user),
        "tiers": CustomerTier.choices, "availabilities": Availability.choices,
        "section": "people", "two_factor_on": two_factor.has_two_factor(person),
        "open_sessions": len(
            session_control.open_sessions(organization_id=user.tenant_id, user_id=person.id)
        ),
    })  # fmt: skip


@action("manage_people")
def person_remove(request: AuthedRequest, user_id: int) -> str:
    user = request.user
    target = owned(User, user, user_id, "person")
    people.user_soft_delete(organization=caller_organization(user), actor=user, user=target)
    return gettext("%(email)s removed.") % {"email": target.email}


@action("manage_people")
def person_restore(request: AuthedRequest, user_id: int) -> str:
    user = request.user
    target = selectors.removed_person(actor=user, user_id=user_id)
    if target is None:
        raise ValidationFailed.one("user", gettext("No such removed person here."))
    people.user_restore(organization=caller_organization(user), actor=user, user=target)
    return gettext("%(email)s restored.") % {"email": target.email}


@action("manage_people")
def person_two_factor_reset(request: AuthedRequest, user_id: int) -> str:
    """A lost authenticator: the person signs in with their password and sets up anew."""
    user = request.user
    target = owned(User, user, user_id, "person")
    two_factor.two_factor_reset(
        organization=caller_organization(user), actor=user, user=target, request=request
    )
    return gettext("Two-factor sign-in of %(email)s reset; their sessions have ended.") % {
        "email": target.email
    }


@action("manage_people")
def person_sessions_end(request: AuthedRequest, user_id: int) -> str:
    user = request.user
    target = owned(User, user, user_id, "person")
    ended = session_control.sessions_end_for(
        organization=caller_organization(user), actor=user, user=target, request=request
    )
    said = ngettext(
        "%(count)s session of %(email)s ended.", "%(count)s sessions of %(email)s ended.", ended
    )
    return said % {"count": ended, "email": target.email}
