"""A manager watches the dashboard's live numbers change when an agent resolves a ticket,
and the header's search box suggests and finds a ticket."""

from __future__ import annotations

import re
import time

from django.db import connection
from playwright.sync_api import expect

from deskbase.analytics import refresh
from deskbase.tickets.models import Category
from tests.e2e.conftest import screenshot, sign_in
from tests.tickets.factories import open_ticket


def _csp_watch(page) -> list[str]:
    """Console messages about the Content-Security-Policy (none may appear)."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text
            else None)  # fmt: skip
    return violations


def test_manager_sees_live_numbers_change_after_a_resolution(world, new_page):
    billing = Category.objects.create(organization=world.org, name="Billing")
    ticket = open_ticket(world, subject="Card declined", category=billing, channel="email")
    open_ticket(world, subject="Password reset", channel="chat")
    refresh.refresh_views()

    manager = new_page()
    violations = _csp_watch(manager)
    sign_in(manager, world.manager.email)
    manager.get_by_role("link", name="Dashboard").click()
    expect(manager.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(manager.locator("#live-open")).to_have_text("2")
    expect(manager.locator("#live-resolved-today")).to_have_text("0")
    expect(manager.locator("#table-categories")).to_contain_text("Billing")
    # Chart.js drew the charts from the json_script block (a sized canvas).
    manager.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-trends'))"
    )
    # The dashboard's screenshot, at 1366 px: tests/e2e/test_layout.py.

    agent = new_page()
    sign_in(agent, world.agent.email)
    agent.goto(f"/desk/tickets/{ticket.number}/")
    with agent.expect_response(lambda r: r.url.endswith("/properties")):
        agent.get_by_label("Status", exact=True).select_option("resolved")
    expect(agent.locator("#properties-status")).to_have_text("Saved.")

    # No reload: the live section is polled every 10 seconds.
    url = manager.url
    expect(manager.locator("#live-resolved-today")).to_have_text("1", timeout=30_000)
    expect(manager.locator("#live-open")).to_have_text("1")
    assert manager.url == url
    assert violations == []


def test_agent_finds_a_ticket_from_the_search_box(world, new_page):
    ticket = open_ticket(world, subject="Printer offline on floor 3",
                         description="The printer shows error 42.")  # fmt: skip
    page = new_page()
    violations = _csp_watch(page)
    sign_in(page, world.agent.email)
    page.locator("body").press("/")
    expect(page.locator("#global-search")).to_be_focused()
    page.keyboard.type("print")
    suggestion = page.locator("#search-suggestions a").first
    expect(suggestion).to_contain_text("Printer offline on floor 3")
    page.keyboard.press("ArrowDown")
    expect(suggestion).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#results-tickets mark").first).to_have_text(re.compile("Printer"))
    screenshot(page, "search")
    # Following the result reports it opened with a POST (app.js), not a GET that writes.
    with page.expect_request(lambda r: "/opened" in r.url) as reported:
        page.locator("#results-tickets h3 a").first.click()
    assert reported.value.method == "POST"
    assert "X-CSRFToken" in reported.value.headers or "x-csrftoken" in reported.value.headers
    expect(page.locator("#ticket-subject")).to_have_text("Printer offline on floor 3")
    assert page.url.endswith(f"/desk/tickets/{ticket.number}/")
    assert _opened_results(world) == [("ticket", ticket.id)]
    assert violations == []


def _opened_results(world, attempts: int = 100) -> list[tuple[str, int]]:
    """The search log's opened results, once the report (sent as the page unloads) is in."""
    for _ in range(attempts):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT opened_type, opened_id FROM search_searchlog"
                " WHERE organization_id = %s AND opened_id IS NOT NULL",
                [world.org.id],
            )
            rows = cursor.fetchall()
        if rows:
            return rows
        time.sleep(0.1)
    return []
