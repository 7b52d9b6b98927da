"""Saved views: named queue filters and a sort, personal or shared with the organization.

A personal view has an owner; a shared one (owner NULL) is made by an admin or a
manager and shown to every agent of the organization (docs/saved-views.md).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import TenantModel

SORTS = ("updated", "created", "priority", "sla_due")


class SavedView(TenantModel):
    id = models.BigAutoField(primary_key=True)
    owner = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    # The queue's filters as the API's query names them: status, priority, assignee,
    # team, customer, tag, category, channel, sla, created_/updated_ after/before, cf.
    filters = models.JSONField(default=dict)
    sort = models.CharField(max_length=20, default="updated")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "savedviews_view"
        constraints = [
            models.UniqueConstraint(
                "organization", "owner", "name", name="savedviews_view_name_unique",
                nulls_distinct=False, violation_error_code="name",
                violation_error_message=_("A view of this name already exists."),
            ),
            models.CheckConstraint(
                condition=~Q(name=""), name="savedviews_view_name_not_blank",
                violation_error_code="name",
            ),
            models.CheckConstraint(
                condition=Q(sort__in=SORTS), name="savedviews_view_sort_valid",
                violation_error_code="sort",
            ),
        ]  # fmt: skip
        indexes = [models.Index(fields=["organization", "owner", "name"], name="savedviews_of")]

    @property
    def shared(self) -> bool:
        return self.owner_id is None
