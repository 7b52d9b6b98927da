"""The error pages in a browser: a trashed ticket's address shows the product's 404
page, with a way back that works."""

from __future__ import annotations

from playwright.sync_api import expect

from deskbase.tickets import services
from tests.e2e.conftest import screenshot, signed_in_page
from tests.tickets.factories import open_ticket


def test_a_trashed_ticket_shows_the_styled_404_with_a_way_back(world, new_page):
    ticket = open_ticket(world)
    services.ticket_soft_delete(organization=world.org, actor=world.agent, ticket=ticket)
    page = signed_in_page(new_page, world.agent.email)
    response = page.goto(f"/desk/tickets/{ticket.number}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator("header.bar")).to_contain_text("Acme Agent")  # the usual header
    # styled: the product's stylesheet applied (the card has its border and background)
    assert page.locator("section.card").evaluate("e => getComputedStyle(e).borderStyle") == "solid"
    screenshot(page, "not-found")
    page.get_by_role("link", name="Your queue").click()
    page.wait_for_url("**/desk/queues/mine/")
    expect(page.get_by_role("heading", name="Not found")).to_have_count(0)
