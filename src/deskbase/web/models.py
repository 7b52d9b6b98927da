"""What the web pages keep of their own: who has a ticket page open."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class TicketPresence(models.Model):
    """An agent with a ticket page open, as of their page's last poll (web.selectors).

    In PostgreSQL, so every server process sees every agent (a per-process cache did
    not). UNLOGGED: not written to the WAL, emptied after a crash; a lost hint costs
    nothing, and a poll writes here every 15 s per open page. Row-level security like
    every tenant table. No foreign keys: rows expire by themselves within a minute.
    """

    pk = models.CompositePrimaryKey("organization_id", "ticket_number", "user_id")
    organization_id = models.BigIntegerField()
    ticket_number = models.BigIntegerField()
    user_id = models.BigIntegerField()
    seen_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "web_ticketpresence"
