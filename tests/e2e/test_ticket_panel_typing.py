"""The properties panel keeps what the agent types while a save is in flight.

A save is made slow honestly: another connection holds the ticket's row lock, so the
panel's POST waits inside `ticket_update` until the lock is released."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection
from playwright.sync_api import expect

from deskbase.tickets import customfields
from deskbase.tickets.models import Ticket
from tests.e2e.conftest import signed_in_page
from tests.tickets.factories import open_ticket


@contextmanager
def row_locked(ticket: Ticket) -> Iterator[psycopg.Connection]:
    """Hold the ticket's row lock from another connection until the block ends."""
    with psycopg.connect(**_plain_params()) as other:
        other.execute("SELECT 1 FROM tickets_ticket WHERE id = %s FOR UPDATE", [ticket.id])
        yield other
        other.rollback()


def wait_for_blocked_save(other: psycopg.Connection) -> None:
    """Until a request waits for the lock `other` holds (the panel's save)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with psycopg.connect(**_plain_params()) as probe:
            row = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                [other.info.backend_pid],
            ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the save never waited for the row lock")


def _plain_params() -> dict:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


def mark_panel(page) -> None:
    page.evaluate("document.getElementById('properties').dataset.old = '1'")


def wait_for_new_panel(page) -> None:
    page.wait_for_function("() => !document.getElementById('properties').dataset.old")


def test_typing_during_a_slow_save_is_kept_and_saved(world, new_page):
    # Given a ticket and a text custom field
    customfields.custom_field_create(organization=world.org, actor=world.admin, key="order",
                                     label="Order number", field_type="text")  # fmt: skip
    ticket = open_ticket(world, subject="Slow save")
    page = signed_in_page(new_page, world.agent.email)
    page.goto(f"/desk/tickets/{ticket.number}/")
    order = page.get_by_label("Order number")
    tags = page.get_by_label("Tags (comma separated)")

    # When the priority is saved while another connection holds the ticket's row
    with row_locked(ticket) as other:
        mark_panel(page)
        page.get_by_label("Priority").select_option("high")
        wait_for_blocked_save(other)
        # and meanwhile the agent types into the order number (still typing, focused)
        order.click()
        page.keyboard.type("A-10")
    # Then once the save is through, the new panel keeps the typing, the focus and caret
    wait_for_new_panel(page)
    expect(page.get_by_label("Priority")).to_have_value("high")
    expect(order).to_be_focused()
    expect(order).to_have_value("A-10")
    # and the typing goes on where it was, and is saved when the field is left
    mark_panel(page)
    page.keyboard.type("42")
    page.keyboard.press("Tab")
    wait_for_new_panel(page)
    expect(order).to_have_value("A-1042")
    expect(page.locator("#properties-status")).to_have_text("Saved.")

    # When a second slow save runs and the agent fills the tags and leaves them meanwhile
    # (their own save queues behind it, and the old panel's request goes with the swap)
    with row_locked(ticket) as other:
        mark_panel(page)
        page.get_by_label("Priority").select_option("urgent")
        wait_for_blocked_save(other)
        tags.fill("vpn, network")
        tags.press("Tab")
    # Then the tags are saved after the priority, at the new version, and both are shown
    page.wait_for_function(
        "() => document.getElementById('tags').defaultValue === 'vpn, network'"
        " && document.getElementById('priority').querySelector('option[selected]').value"
        " === 'urgent'"
    )
    expect(page.locator("#properties-status")).to_have_text("Saved.")
    expect(page.locator("#conflict")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("vpn, network")

    current = Ticket.objects.get(pk=ticket.pk)
    assert current.priority == "urgent"
    assert current.tags == ["vpn", "network"]
    assert current.custom_fields == {"order": "A-1042"}
