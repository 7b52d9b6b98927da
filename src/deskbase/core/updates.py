"""One diff-and-apply step for every update service.

    update = model_update(current, fields=CHANGEABLE, data=changes)
    if not update:
        return current                      # nothing changed: nothing written or announced
    _validate(current)
    with events.announce(events.SLA_POLICY_UPDATED, organization, actor, current, **update.changes):
        update.save()

The service keeps its own order (lock, validate, announce) and its own save where
it does more (a ticket's version and SLA); what changed is computed once, here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext

from deskbase.core.errors import ValidationFailed


@dataclass
class ModelUpdate:
    """What `model_update` set on the instance: field -> (old, new), changed fields only."""

    instance: models.Model
    changes: dict[str, tuple[Any, Any]]

    def __bool__(self) -> bool:
        return bool(self.changes)

    @property
    def fields(self) -> list[str]:
        return sorted(self.changes)

    def save(self) -> None:
        """Save the changed columns only; reload what the database sets (updated_at)."""
        if not self.changes:
            return
        self.instance.save(update_fields=self.fields)
        if any(f.name == "updated_at" for f in self.instance._meta.concrete_fields):
            self.instance.refresh_from_db(fields=["updated_at"])


def model_update(
    instance: models.Model, *, fields: Collection[str], data: Mapping[str, Any]
) -> ModelUpdate:
    """Set each value of `data` that differs from the instance's; say what changed.

    Every key of `data` must be one of `fields` (ValidationFailed names the first
    that is not). Nothing is saved: the caller validates, announces, then `save()`s.
    """
    unknown = set(data) - set(fields)
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed.one(
            field, gettext("%(field)s cannot be changed here.") % {"field": field}
        )
    changes = {
        field: (getattr(instance, field), value)
        for field, value in data.items()
        if getattr(instance, field) != value
    }
    for field, (_, value) in changes.items():
        setattr(instance, field, value)
    return ModelUpdate(instance, changes)
