"""Bounds on the JSON people store (ticket custom fields, organization settings, skills ...).

A jsonb column accepts any JSON, however deep or large; the API's encoder does not
(orjson stops at 254 levels) and neither does Python's own parser (about 1000). So
every JSON value a service stores is checked here first, with an error naming the
field, and PostgreSQL checks the same depth and size again (`deskbase_jsonb_depth`,
core/migrations/0001_jsonb_bounds.py) so that no other writer can store what the
readers cannot read back.

The walk is iterative: a hostile value cannot exhaust Python's stack while it is
being measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from django.utils.translation import gettext

from deskbase.core.errors import ValidationFailed


@dataclass(frozen=True)
class Bounds:
    depth: int  # nested objects/arrays; {"a": 1} is 1, {"a": {"b": 1}} is 2
    items: int  # keys and array elements, at every level together
    size: int  # bytes of its compact JSON text

    def describe(self) -> str:
        return gettext(
            "at most %(depth)s levels deep, %(items)s keys and items, %(size)s bytes"
        ) % {"depth": self.depth, "items": self.items, "size": self.size}


# Custom fields are a ticket's extra attributes (order number, plan, device ...):
# shallow and small. Settings hold an organization's whole configuration.
CUSTOM_FIELDS = Bounds(depth=5, items=200, size=16 * 1024)
SETTINGS = Bounds(depth=8, items=2000, size=64 * 1024)
BUSINESS_HOURS = Bounds(depth=3, items=600, size=8 * 1024)  # 7 days x 24 spans
SKILLS = Bounds(depth=1, items=100, size=4 * 1024)

# What the database holds each column to (the same figures: see the migration).
COLUMNS = {
    ("tickets_ticket", "custom_fields"): CUSTOM_FIELDS,
    ("organizations_organization", "settings"): SETTINGS,
    ("organizations_organization", "business_hours"): BUSINESS_HOURS,
    ("accounts_user", "skills"): SKILLS,
}


def measure(value: Any, *, stop_depth: int, stop_items: int) -> tuple[int, int]:
    """(depth, items) of a JSON value, giving up once either passes its stop."""
    depth = items = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, dict):
            children = list(current.values())
        elif isinstance(current, (list, tuple)):
            children = list(current)
        else:
            continue
        level += 1
        depth = max(depth, level)
        items += len(children)
        if depth > stop_depth or items > stop_items:
            break
        stack.extend((child, level) for child in children)
    return depth, items


def check(field: str, value: Any, bounds: Bounds) -> None:
    """Raise ValidationFailed on `field` when the value is deeper, longer or larger than allowed."""
    depth, items = measure(value, stop_depth=bounds.depth, stop_items=bounds.items)
    if depth > bounds.depth:
        raise ValidationFailed.one(
            field,
            gettext("Too deeply nested: %(describe)s (more than %(depth)s levels).")
            % {"describe": bounds.describe(), "depth": bounds.depth},
        )
    if items > bounds.items:
        raise ValidationFailed.one(
            field,
            gettext("Too many keys and items: %(describe)s.") % {"describe": bounds.describe()},
        )
    try:
        size = len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except (orjson.JSONEncodeError, TypeError):
        message = gettext("Not storable JSON (numbers are at most 64-bit).")
        raise ValidationFailed.one(field, message) from None
    if size > bounds.size:
        raise ValidationFailed.one(
            field,
            gettext("Too large (%(size)s bytes): %(describe)s.")
            % {"size": size, "describe": bounds.describe()},
        )
