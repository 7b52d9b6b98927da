"""Layout and accessibility: every main page at 390 px (a phone) and 1366 px (a laptop).

The page itself never scrolls sideways (`scrollWidth <= clientWidth`; a wide table
scrolls inside its own container), and axe-core finds no serious or critical
violation. Each width is a fresh browser context signed in as the page's reader.
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from deskbase.accounts.services import user_create
from deskbase.analytics import refresh
from deskbase.savedviews import services as view_services
from deskbase.tickets import services
from deskbase.tickets.models import Category
from tests.e2e.conftest import screenshot, sign_in

WIDTHS = (390, 1366)
LONG = "Printer on the third floor prints every page twice and then jams " * 2
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# What overflows: the widest elements that stick out of the viewport (for the message).
CULPRITS = """() => {
  const w = document.documentElement.clientWidth;
  const out = e => e.getBoundingClientRect().right > w + 1;
  return [...document.querySelectorAll('body *')]
    .filter(e => out(e) && ![...e.children].some(out)).slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
         + (typeof e.className === 'string' && e.className ? '.' + e.className : ''));
}"""


@pytest.fixture
def busy(world) -> dict[str, Any]:
    """Tickets with long subjects, tags and replies, a saved view, and many people."""
    tickets = []
    hardware = Category.objects.create(organization=world.org, name="Hardware")
    billing = Category.objects.create(organization=world.org, name="Billing")
    for n, (priority, status, channel) in enumerate(
        [("urgent", "open", "email"), ("high", "pending", "chat"), ("medium", "new", "web"),
         ("low", "open", "email"), ("medium", "resolved", "phone")]
    ):  # fmt: skip
        ticket = services.ticket_create(
            organization=world.org, actor=world.agent, subject=f"{LONG} {n}",
            customer=world.customer, priority=priority, channel=channel,
            category=hardware if n % 2 else billing,
            description="A description with a long word: " + "x" * 120,
            tags=["printer", "third-floor", "hardware-failure"],
        )  # fmt: skip
        if status == "resolved":
            ticket = services.ticket_change_status(
                organization=world.org, actor=world.agent, ticket=ticket, status="open"
            )
        if status != "new":
            ticket = services.ticket_change_status(
                organization=world.org, actor=world.agent, ticket=ticket, status=status
            )
        tickets.append(ticket)
    services.comment_add(
        organization=world.org, actor=world.agent, ticket=tickets[0],
        body="Please try this: " + "https://example.test/" + "a" * 150,
    )  # fmt: skip
    view_services.view_create(organization=world.org, actor=world.agent, name="Urgent printers",
                              filters={"priority": ["urgent"]})  # fmt: skip
    for n in range(12):
        user_create(organization=world.org, actor=world.admin, email=f"person{n}@acme.test",
                    role="customer", full_name=f"Customer Number {n}")  # fmt: skip
    return {"ticket": tickets[0]}


def _check(new_page, email: str, url: str, width: int, axe: Axe | None) -> list[str]:
    page = new_page(width=width, height=900)
    if email:
        sign_in(page, email)
    response = page.goto(url)
    assert response is not None
    assert response.status < 400, (url, response.status)
    page.wait_for_load_state("networkidle")
    problems = []
    overflow = page.evaluate(OVERFLOW)
    if overflow > 0:
        problems.append(f"{url} at {width}px: {overflow}px too wide: {page.evaluate(CULPRITS)}")
    if axe is not None:
        results = axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                targets = [n["target"] for n in violation["nodes"][:3]]
                problems.append(f"{url} at {width}px: axe {violation['id']}: {targets}")
    return problems


def test_main_pages_fit_both_widths_and_pass_axe(world, busy, new_page):
    number = busy["ticket"].number
    pages = [
        ("", "/login/"),
        (world.agent.email, "/desk/queues/open/"),
        (world.agent.email, f"/desk/views/{_view_id(world)}/"),
        (world.agent.email, f"/desk/tickets/{number}/"),
        (world.manager.email, "/desk/dashboard/"),
        (world.customer.email, "/portal/"),
        (world.customer.email, f"/portal/tickets/{number}/"),
        (world.admin.email, "/manage/"),
        (world.admin.email, "/manage/people/"),
        (world.admin.email, f"/manage/people/{world.agent.id}/"),
        (world.admin.email, "/manage/organization/"),
        (world.admin.email, "/manage/teams/"),
        (world.admin.email, "/manage/sla/"),
        (world.admin.email, "/manage/audit/"),
        (world.admin.email, "/manage/rules/"),
        (world.admin.email, "/manage/canned/"),
        (world.admin.email, "/manage/webhooks/"),
        (world.admin.email, "/manage/mailboxes/"),
        (world.admin.email, "/manage/privacy/"),
        (world.admin.email, "/manage/kb/"),
    ]
    axe = Axe()
    problems: list[str] = []
    for email, url in pages:
        for width in WIDTHS:
            problems += _check(new_page, email, url, width, axe)
    assert not problems, "\n".join(problems)


def _view_id(world) -> int:
    from deskbase.savedviews.models import SavedView

    return SavedView.objects.get(organization=world.org, name="Urgent printers").id


def test_screenshots_of_the_queue_dashboard_people_and_a_narrow_ticket(world, busy, new_page):
    queue = new_page(width=1366, height=800)
    sign_in(queue, world.agent.email)
    queue.goto("/desk/queues/open/")
    screenshot(queue, "agent-queue")
    narrow = new_page(width=390, height=844)
    sign_in(narrow, world.agent.email)
    narrow.goto("/desk/queues/open/")
    screenshot(narrow, "agent-queue-narrow")
    narrow.goto(f"/desk/tickets/{busy['ticket'].number}/")
    screenshot(narrow, "ticket-narrow")
    manager = new_page(width=1366, height=900)
    sign_in(manager, world.manager.email)
    refresh.refresh_views()
    manager.goto("/desk/dashboard/")
    manager.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-trends'))"
    )
    screenshot(manager, "dashboard")
    admin = new_page(width=1366, height=800)
    sign_in(admin, world.admin.email)
    admin.goto("/manage/people/?q=customer")
    screenshot(admin, "manage-people")


def test_an_htmx_request_refused_by_the_server_says_so_on_the_page(world, new_page):
    page = new_page(width=1366)
    sign_in(page, world.agent.email)
    page.goto("/desk/queues/open/")
    # A part of a ticket that is gone (trashed, or never was): the 404 page.
    page.evaluate("htmx.ajax('GET', '/desk/tickets/999999/canned?canned=1', '#main')")
    alert = page.locator("#request-error")
    alert.wait_for()
    assert alert.get_attribute("role") == "alert"
    assert alert.inner_text().startswith("Not found: There is nothing at this address")
    assert page.get_by_role("heading", name="All open").is_visible()  # nothing was swapped
