"""Changing an organization's own settings: name, time zone, business hours, settings,
and its sign-in rules (two-factor sign-in for staff, session timeouts).

Admins only. The slug (it signs people in) and the subscription tier are platform
matters and are not changed here.

New business hours, time zone or holidays apply to SLA clocks computed from now
on (new tickets, recomputations, resumes); the due times tickets already carry
are not moved (docs/sla.md).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.utils.translation import gettext, gettext_lazy

from deskbase.accounts.models import Role, User
from deskbase.core import events, jsonbounds
from deskbase.core.errors import PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant_atomic
from deskbase.core.updates import model_update
from deskbase.organizations.models import Organization

EDITABLE = frozenset(
    {"name", "timezone", "language", "business_hours", "settings", "api_rate_limit"}
)
# Sign-in rules (docs/identity.md): the timeouts may be None (no timeout).
SIGN_IN_RULES = frozenset({"require_staff_two_factor", "session_idle_minutes", "session_max_hours"})
EDITABLE |= SIGN_IN_RULES
# Fields whose null means "none" or "the deployment's default".
NULLABLE = frozenset({"session_idle_minutes", "session_max_hours", "api_rate_limit"})


def _ensure_admin(actor: User | None) -> None:
    # None: an operator command (the owner role), which may do anything.
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied(gettext("only admins may change the organization's settings"))


WHOLE_NUMBER = {"api_rate_limit": gettext_lazy("The API rate limit is a whole number.")}


def _normalized(changes: dict[str, Any]) -> dict[str, Any]:
    for field, value in changes.items():
        if value is None and field not in NULLABLE:
            raise ValidationFailed.one(
                field, gettext("%(field)s cannot be null.") % {"field": field}
            )
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
    if "timezone" in changes:
        changes["timezone"] = str(changes["timezone"]).strip()
    for field in sorted(NULLABLE & set(changes)):
        value = changes[field]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationFailed.one(
                field,
                str(
                    WHOLE_NUMBER.get(
                        field, gettext("%(field)s is a whole number or empty.") % {"field": field}
                    )
                ),
            )
    flag = changes.get("require_staff_two_factor")
    if flag is not None and not isinstance(flag, bool):
        raise ValidationFailed.one("require_staff_two_factor", gettext("Either true or false."))
    if "settings" in changes and not isinstance(changes["settings"], dict):
        raise ValidationFailed.one("settings", gettext("Settings are a JSON object."))
    if "settings" in changes and "language" in changes["settings"]:
        # One source: the field `language` (docs/i18n.md); migration 0006 moved old values.
        raise ValidationFailed.one(
            "settings.language", gettext("The organization's language is its field language.")
        )
    if "language" in changes:
        changes["language"] = str(changes["language"]).strip()
        if changes["language"] and changes["language"] not in dict(django_settings.LANGUAGES):
            known = ", ".join(code for code, _name in django_settings.LANGUAGES)
            raise ValidationFailed.one(
                "language", gettext("Choose one of %(known)s, or none.") % {"known": known}
            )
    if "settings" in changes:
        jsonbounds.check("settings", changes["settings"], jsonbounds.SETTINGS)
        risk = changes["settings"].get("sla_at_risk_percent")
        if risk is not None and (type(risk) is not int or not 1 <= risk <= 99):
            # docs/sla.md, "At risk and breached"
            raise ValidationFailed.one(
                "settings.sla_at_risk_percent", gettext("A whole number of percent, from 1 to 99.")
            )
    if "business_hours" in changes:
        jsonbounds.check("business_hours", changes["business_hours"], jsonbounds.BUSINESS_HOURS)
    hours = changes.get("business_hours")
    if isinstance(hours, dict) and not any(spans for spans in hours.values()):
        # A week without an open minute cannot count business time: every
        # business-hours SLA would fail to compute a due time.
        raise ValidationFailed.one("business_hours", gettext("Open at least one span in the week."))
    return changes


@tenant_atomic
def organization_settings_update(
    *, organization: Organization, actor: User | None, **changes: Any
) -> Organization:
    """Change any of name, timezone, business_hours, settings (a whole JSON object) and
    api_rate_limit (requests a minute, or None for the deployment's default)."""
    _ensure_admin(actor)
    unknown = set(changes) - EDITABLE
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed.one(
            field, gettext("%(field)s cannot be changed here.") % {"field": field}
        )
    changes = _normalized(dict(changes))
    current = Organization.objects.select_for_update().get(pk=organization.id)
    update = model_update(current, fields=EDITABLE, data=changes)
    if not update:
        return current
    # Only what changed: the slug's uniqueness is not this caller's business.
    validated(
        current, exclude=[f.name for f in Organization._meta.fields if f.name not in update.changes]
    )
    with events.announce(
        events.ORGANIZATION_UPDATED, organization, actor, current, **update.changes
    ):
        update.save()
    return current
