"""Tickets made the way users make them: through the services."""

from __future__ import annotations

from typing import Any

from deskbase.tickets import services
from deskbase.tickets.models import Ticket


def open_ticket(world: Any, **fields: Any) -> Ticket:
    fields.setdefault("subject", "Printer on fire")
    fields.setdefault("customer", world.customer)
    return services.ticket_create(organization=world.org, actor=world.agent, **fields)
