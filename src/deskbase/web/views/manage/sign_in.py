"""The organization's sign-in rules and single sign-on: admins change them, managers read.

Two-factor sign-in for staff and the session timeouts are organization settings
(organizations.settings_services); the identity provider is accounts.oidc's.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext

from deskbase import cached
from deskbase.accounts import oidc
from deskbase.accounts.models import Role
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.organizations.settings_services import organization_settings_update
from deskbase.tickets.access import caller_organization
from deskbase.web.views.common import domain_errors, manager_required


def _minutes(post: Any, field: str) -> int | None:
    raw = post.get(field, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed.one(field, gettext("A whole number, or empty for none."))
    return int(raw)


def _role_map(text: str) -> dict[str, str]:
    """`group=role` lines, e.g. `support=agent`."""
    mapping: dict[str, str] = {}
    for line in (ln.strip() for ln in text.splitlines() if ln.strip()):
        claim, sep, role = line.partition("=")
        if not sep or not claim.strip():
            raise ValidationFailed.one("role_map", gettext("Write one claim value=role per line."))
        mapping[claim.strip()] = role.strip()
    return mapping


@manager_required
@domain_errors
def sign_in(request: AuthedRequest) -> HttpResponse:
    user = request.user
    organization = caller_organization(user)
    if request.method == "POST" and request.POST.get("form") == "rules":
        organization_settings_update(
            organization=organization, actor=user,
            require_staff_two_factor=request.POST.get("require_staff_two_factor") == "on",
            session_idle_minutes=_minutes(request.POST, "session_idle_minutes"),
            session_max_hours=_minutes(request.POST, "session_max_hours"),
        )  # fmt: skip
        messages.success(request, gettext("Sign-in rules saved."))
        return redirect("web:manage_sign_in")
    if request.method == "POST":
        oidc.provider_save(
            organization=organization, actor=user, issuer=request.POST.get("issuer", ""),
            client_id=request.POST.get("client_id", ""),
            client_secret=request.POST.get("client_secret", ""),
            allowed_domains=request.POST.get("allowed_domains", "").replace(",", " ").split(),
            role_claim=request.POST.get("role_claim", ""),
            role_map=_role_map(request.POST.get("role_map", "")),
            default_role=request.POST.get("default_role", Role.CUSTOMER),
            enabled=request.POST.get("enabled") == "on",
        )  # fmt: skip
        messages.success(request, gettext("Single sign-on saved."))
        return redirect("web:manage_sign_in")
    provider = oidc.provider_of(user.tenant_id)
    mapping = provider.role_map if provider else {}
    return render(request, "web/manage/sign_in.html", {
        "org": cached.organization_settings(user.tenant_id), "provider": provider,
        "role_map": "\n".join(f"{k}={v}" for k, v in mapping.items()),
        "roles": Role.choices, "may_edit": user.role == Role.ADMIN, "section": "sign_in",
        "callback": request.build_absolute_uri(reverse("sso_callback")),
    })  # fmt: skip
