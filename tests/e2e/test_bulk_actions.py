"""An agent ticks rows in the queue and changes their status in bulk, in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from deskbase.savedviews import services as views
from deskbase.tickets.models import Ticket
from tests.e2e.conftest import screenshot, signed_in_page
from tests.tickets.factories import open_ticket


def test_agent_selects_rows_and_sets_them_pending_with_a_summary(world, new_page):
    # Given four open tickets and two saved views
    subjects = ["Printer jam", "VPN drops", "Invoice copy", "Password reset"]
    tickets = [open_ticket(world, subject=s, tags=["batch"]) for s in subjects]
    views.view_create(organization=world.org, actor=world.manager, name="Urgent ones",
                      filters={"priority": ["urgent"]}, shared=True)  # fmt: skip
    views.view_create(organization=world.org, actor=world.agent, name="Batch",
                      filters={"tag": "batch"})  # fmt: skip

    # When the agent ticks two rows on the queue page
    page = signed_in_page(new_page, world.agent.email)
    page.goto("/desk/queues/recent/")
    expect(page.get_by_role("link", name=re.compile("Batch"))).to_contain_text("4")
    page.get_by_label(f"Select ticket #{tickets[0].number}").check()
    page.get_by_label(f"Select ticket #{tickets[1].number}").check()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.get_by_label("Action").select_option("status")
    page.locator("#bulk-status").select_option("pending")
    screenshot(page, "queue-bulk-and-views")

    # ... and applies the change
    page.get_by_role("button", name="Apply action").click()

    # Then the summary says both changed, and only those two are pending
    expect(page.locator("#bulk-summary")).to_have_text(re.compile(r"Done: 2 tickets changed\."))
    pending = set(Ticket.objects.filter(status="pending").values_list("number", flat=True))
    assert pending == {tickets[0].number, tickets[1].number}

    # When the agent selects the whole page, the count follows
    page.goto("/desk/queues/recent/")
    page.get_by_label("Select all on this page").check()
    expect(page.locator("#bulk-count")).to_have_text("4 selected")
