"""Rules made the way admins make them: through the services."""

from __future__ import annotations

from typing import Any

from deskbase.automation import services
from deskbase.automation.models import Firing, Rule
from deskbase.core.tenancy import tenant


def make_rule(world: Any, name: str, activator: str = "event", **definition: Any) -> Rule:
    return services.rule_create(
        organization=world.org, actor=world.admin, name=name, activator=activator,
        definition=definition,
    )  # fmt: skip


def firings(world: Any, **filters: Any) -> list[Firing]:
    with tenant(world.org):
        return list(Firing.objects.filter(organization_id=world.org.id, **filters).order_by("id"))
