"""SLA policies: the list, a new one, editing and deactivating one (admins and managers).

The form parses what was typed; the targets' bounds, the overlap of two active policies
and who may write are the services' (deskbase.sla.policies).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext

from deskbase.accounts.models import CustomerTier
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.sla import policies
from deskbase.sla.models import TARGET_RANGE, SlaPolicy
from deskbase.tickets.access import caller_organization
from deskbase.tickets.models import Priority
from deskbase.web import selectors
from deskbase.web.views.common import domain_errors, manager_required
from deskbase.web.views.manage.forms import action, form_page, owned
from deskbase.web.views.tickets import reference

# The inputs of the policy forms, by the field a service error names.
SLA_INPUTS = {"name": "p-name", "priority": "p-priority", "customer_tier": "p-tier",
              "first_response_minutes": "p-first", "resolution_minutes": "p-res",
              "business_hours": "p-business"}  # fmt: skip


def _minutes(post: Any, field: str) -> int:
    """A whole number; its bounds are the service's (sla.models.MAX_TARGET_MINUTES)."""
    raw = post.get(field, "").strip()
    if not raw.isdigit():
        raise ValidationFailed.one(field, str(TARGET_RANGE))
    return int(raw)


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
    """Name, targets and clock parsed together: every unreadable field is named at once."""
    errors: dict[str, list[str]] = {}
    name = post.get("name", "").strip()
    if not name or len(name) > 120:
        errors["name"] = [gettext("Name the policy (at most 120 characters).")]
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
    return {"errors": {"fields": fields, "general": general}}


@manager_required
@domain_errors
def sla_policies(request: AuthedRequest) -> HttpResponse:
    """The policies, and the form for a new one (sent back filled in when refused)."""
    user = request.user
    values: dict[str, Any] = {"business_hours": True}
    if request.method == "POST":
        values = _sla_values(request.POST)

    def save() -> str:
        policies.sla_policy_create(
            organization=caller_organization(user), actor=user, priority=values["priority"],
            customer_tier=values["customer_tier"], **_sla_input(request.POST),
        )  # fmt: skip
        return gettext("SLA policy created.")

    return form_page(
        request, "web/manage/sla.html", save=save, done="manage_sla",
        page=lambda: {
            "policies": selectors.sla_policies_to_manage(actor=user),
            "priorities": Priority.choices, "tiers": CustomerTier.choices, "section": "sla",
            "values": values, "errors": {},
        },
        refused=lambda failed: _sla_errors(failed, values),
    )  # fmt: skip


@action("manage_sla")
def sla_deactivate(request: AuthedRequest, policy_id: int) -> str:
    user = request.user
    policy = reference(SlaPolicy, user, policy_id, "policy")
    policies.sla_policy_deactivate(
        organization=caller_organization(user), actor=user, policy=policy
    )
    return gettext("Policy %(name)s deactivated.") % {"name": repr(policy.name)}


@manager_required
@domain_errors
def sla_edit(request: AuthedRequest, policy_id: int) -> HttpResponse:
    """Name, targets and clock of a policy (what the API's PATCH changes from a form);
    priority and tier never change. Bad input: the form again, each error at its input."""
    user = request.user
    policy = owned(SlaPolicy, user, policy_id, "SLA policy")
    values: dict[str, Any] = {
        "name": policy.name,
        "first_response_minutes": policy.first_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "business_hours": policy.business_hours,
    }
    if request.method == "POST":
        values = _sla_values(request.POST, policy)

    def save() -> str:
        changes = _sla_input(request.POST)
        policies.sla_policy_update(organization=caller_organization(user), actor=user,
                                   policy=policy, **changes)  # fmt: skip
        return gettext("Policy %(name)s saved.") % {"name": repr(changes["name"])}

    return form_page(
        request,
        "web/manage/sla_edit.html",
        save=save,
        done="manage_sla",
        page=lambda: {"policy": policy, "values": values, "errors": {}, "section": "sla"},
        refused=lambda failed: _sla_errors(failed, values),
    )
