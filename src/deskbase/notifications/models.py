"""Agent notifications (docs/notifications.md): the entries of the bell, and each agent's
choices of what notifies them, how and about which tickets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import TenantModel, choice_constraint


class Reason(models.TextChoices):
    NEW_TICKET = "new_ticket", _("New ticket")
    ASSIGNED = "assigned", _("Assigned to me")
    CUSTOMER_REPLIED = "customer_replied", _("Customer replied")
    MENTIONED = "mentioned", _("Mentioned in an internal note")
    SLA_AT_RISK = "sla_at_risk", _("SLA at risk")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    REOPENED = "reopened", _("Ticket reopened")


class Scope(models.TextChoices):
    MINE = "mine", _("My tickets")
    TEAMS = "teams", _("My teams' tickets")
    ALL = "all", _("All tickets")


class Preference(TenantModel):
    """One agent's choice for one reason; without a row the default applies
    (notifications.preferences.DEFAULTS)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.MINE)
    in_app = models.BooleanField(default=True)
    mail = models.BooleanField(default=False)

    class Meta:
        db_table = "notifications_preference"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "reason"], name="notifications_preference_once"
            ),
            choice_constraint(
                "reason",
                Reason,
                name="notifications_preference_reason_valid",
                message=_("Unknown notification."),
            ),
            choice_constraint(
                "scope",
                Scope,
                name="notifications_preference_scope_valid",
                message=_("Unknown scope; use mine, teams or all."),
            ),
        ]


class Notification(TenantModel):
    """One entry of an agent's bell: what happened on a ticket, and how often.

    Several events on the same ticket within the same grouping window (`bucket`, a
    window number) add to one unread entry (`count`, the latest `reason` and `actor`):
    the partial unique key is what the INSERT ... ON CONFLICT groups on.
    """

    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", db_index=False,
    )  # fmt: skip
    count = models.PositiveIntegerField(default=1)
    bucket = models.BigIntegerField()
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    last_at = models.DateTimeField(db_default=Now())
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifications_notification"
        indexes = [
            # The list, newest first (keyset on id), and the bell's unread count.
            models.Index("organization", "recipient", models.F("id").desc(),
                         name="notifications_by_recipient"),
            models.Index("organization", "recipient", name="notifications_unread",
                         condition=Q(read_at__isnull=True)),
            # The retention purge (services.purge_old): the oldest entries first.
            models.Index(fields=["organization", "last_at"], name="notifications_by_last_at"),
        ]  # fmt: skip
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "recipient", "ticket", "bucket"],
                condition=Q(read_at__isnull=True),
                name="notifications_group_unread",
            ),
            choice_constraint(
                "reason",
                Reason,
                name="notifications_notification_reason_valid",
                message=_("Unknown notification."),
            ),
            models.CheckConstraint(
                condition=Q(count__gte=1), name="notifications_notification_count_positive"
            ),
        ]
