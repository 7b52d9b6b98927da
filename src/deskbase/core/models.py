"""Base models shared by the apps: timestamps, tenant ownership and soft delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.core.errors import Conflict

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class TimestampedModel(models.Model):
    """created_at and updated_at; a database trigger keeps updated_at (raw SQL too)."""

    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        abstract = True


class TenantModel(models.Model):
    """A row owned by one organization; row-level security keys on organization_id."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        abstract = True


class LiveQuerySet(models.QuerySet):
    def live(self) -> LiveQuerySet:
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> LiveQuerySet:
        return self.filter(deleted_at__isnull=False)


# mypy takes no call as a base class; django-stubs' plugin still types the manager's methods.
class LiveManager(models.Manager.from_queryset(LiveQuerySet)):  # type: ignore[misc]  # dynamic base
    """The default manager of soft-deletable models: deleted rows are hidden."""

    def get_queryset(self) -> LiveQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    """deleted_at / deleted_by / delete_reason; `objects` hides deleted rows.

    `all_objects` sees everything (the trash, restores, purges). Writes go through
    `soft_delete()` and `restore()`, which the services wrap with events.
    """

    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    delete_reason = models.CharField(max_length=500, blank=True, editable=False)

    objects = LiveManager()
    all_objects = models.Manager.from_queryset(LiveQuerySet)()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self, actor: Any, reason: str = "") -> None:
        if self.deleted_at is not None:
            raise Conflict(
                gettext("this %(verbose_name)s is already deleted")
                % {"verbose_name": self._meta.verbose_name},
                field="deleted_at",
            )
        self.deleted_at = timezone.now()
        self.deleted_by = actor
        self.delete_reason = reason.strip()[:500]
        self.save(update_fields=["deleted_at", "deleted_by", "delete_reason"])

    def restore(self, actor: Any) -> None:
        if self.deleted_at is None:
            raise Conflict(
                gettext("this %(verbose_name)s is not deleted")
                % {"verbose_name": self._meta.verbose_name},
                field="deleted_at",
            )
        self.deleted_at = None
        self.deleted_by = None
        self.delete_reason = ""
        self.save(update_fields=["deleted_at", "deleted_by", "delete_reason"])


def choice_constraint(
    field: str, choices: type[models.TextChoices], *, name: str, message: StrOrPromise
) -> models.CheckConstraint:
    """CHECK (field IN choices), reported by full_clean() on `field`."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": choices.values}),
        name=name,
        violation_error_code=field,
        violation_error_message=message,
    )
