"""The tenant, its working calendar and its holidays."""

from __future__ import annotations

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from deskbase.core.i18n import Language
from deskbase.core.models import SoftDeleteModel, TimestampedModel, choice_constraint

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def default_business_hours() -> dict[str, list[list[str]]]:
    return {day: ([["09:00", "17:00"]] if day not in ("sat", "sun") else []) for day in WEEKDAYS}


def validate_business_hours(value: object) -> None:
    """{"mon": [["09:00", "17:00"]], ...}: each day a list of ordered, non-overlapping spans."""
    if not isinstance(value, dict):
        raise ValidationError(
            gettext("Business hours must map weekdays to lists of [start, end] spans.")
        )
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(
                gettext("Unknown weekday %(day)r; use %(choices)s.")
                % {"day": day, "choices": ", ".join(WEEKDAYS)}
            )
        if not isinstance(spans, list):
            raise ValidationError(
                gettext("%(day)s: expected a list of [start, end] spans.") % {"day": day}
            )
        if len(spans) > 24:  # bounded like every stored JSON value (core.jsonbounds)
            raise ValidationError(gettext("%(day)s: at most 24 spans a day.") % {"day": day})
        previous_end = ""
        for span in spans:
            if not (
                isinstance(span, list) and len(span) == 2 and all(isinstance(t, str) for t in span)
            ):
                raise ValidationError(
                    gettext('%(day)s: each span is ["HH:MM", "HH:MM"].') % {"day": day}
                )
            start, end = span
            if not (_HHMM.match(start) and _HHMM.match(end)):
                raise ValidationError(
                    gettext("%(day)s: times are HH:MM, 00:00 to 24:00.") % {"day": day}
                )
            if start >= end:
                raise ValidationError(
                    gettext("%(day)s: a span must end after it starts (%(start)s-%(end)s).")
                    % {"day": day, "start": start, "end": end}
                )
            if start < previous_end:
                raise ValidationError(
                    gettext("%(day)s: spans overlap or are out of order.") % {"day": day}
                )
            previous_end = end


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("Unknown time zone %(zone)s."), code="timezone", params={"zone": repr(value)}
        ) from None


# Bounds of an organization's own API rate limit (requests a minute).
MIN_API_RATE_LIMIT = 60
MAX_API_RATE_LIMIT = 100_000


class Tier(models.TextChoices):
    FREE = "free", _("Free")
    STARTER = "starter", _("Starter")
    PROFESSIONAL = "professional", _("Professional")
    ENTERPRISE = "enterprise", _("Enterprise")


class Organization(TimestampedModel, SoftDeleteModel):
    """The tenant: every tenant-owned row carries its organization_id."""

    id = models.BigAutoField(primary_key=True)
    slug = models.SlugField(
        max_length=63,
        unique=True,
        error_messages={"unique": "This slug is taken; choose another."},
    )
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.FREE)
    settings = models.JSONField(default=dict, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # Its people's language unless they chose one; blank: each browser's (docs/i18n.md).
    language = models.CharField(
        max_length=8, choices=Language.choices, blank=True, default="", db_default=""
    )
    business_hours = models.JSONField(
        default=default_business_hours, validators=[validate_business_hours]
    )
    # Sign-in rules (docs/identity.md).
    require_staff_two_factor = models.BooleanField(
        default=False, db_default=False, help_text="Staff must use two-factor sign-in."
    )
    session_idle_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Sign out after this long without a request."
    )
    session_max_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Sign out this long after signing in, whatever happens."
    )
    # API requests a minute for the whole organization; NULL: the deployment's
    # DESKBASE_API_RATE_LIMIT (deskbase.api.ratelimit).
    api_rate_limit = models.IntegerField(null=True, blank=True)

    class Meta:
        db_table = "organizations_organization"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(api_rate_limit__isnull=True)
                | models.Q(
                    api_rate_limit__gte=MIN_API_RATE_LIMIT, api_rate_limit__lte=MAX_API_RATE_LIMIT
                ),
                name="organizations_organization_api_rate_limit_range",
                violation_error_code="api_rate_limit",
                violation_error_message=(
                    f"The API rate limit is {MIN_API_RATE_LIMIT} to {MAX_API_RATE_LIMIT:,}"
                    " requests a minute."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(language="") | models.Q(language__in=Language.values),
                name="organizations_organization_language_valid",
                violation_error_code="language",
                violation_error_message=_("Unknown language."),
            ),
            choice_constraint(
                "tier",
                Tier,
                name="organizations_organization_tier_valid",
                message=_("Unknown subscription tier."),
            ),
            models.CheckConstraint(
                condition=models.Q(session_idle_minutes__isnull=True)
                | models.Q(session_idle_minutes__gte=5, session_idle_minutes__lte=43200),
                name="organizations_organization_idle_range",
                violation_error_code="session_idle_minutes",
                violation_error_message=_("The idle timeout is 5 minutes to 30 days."),
            ),
            models.CheckConstraint(
                condition=models.Q(session_max_hours__isnull=True)
                | models.Q(session_max_hours__gte=1, session_max_hours__lte=8760),
                name="organizations_organization_max_hours_range",
                violation_error_code="session_max_hours",
                violation_error_message=_("The session lifetime is 1 hour to 1 year."),
            ),
            models.CheckConstraint(
                condition=models.Q(slug__regex=r"^[a-z0-9][a-z0-9-]*$"),
                name="organizations_organization_slug_format",
                violation_error_code="slug",
                violation_error_message=_("A slug is lower-case letters, digits and hyphens."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """A day the organization's business-hours SLA clock does not run."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="holidays", db_index=False
    )
    date = models.DateField()
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "organizations_holiday"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "date"],
                name="organizations_holiday_unique_date",
                violation_error_code="date",
                violation_error_message=_("This day is already a holiday."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"
