"""Script in a subject, a body, a comment or a file name never runs in the browser."""

from __future__ import annotations

import io

from deskbase.tickets import services
from deskbase.tickets.attachments import attachment_add
from tests.e2e.conftest import sign_in
from tests.tickets.factories import open_ticket

PAYLOADS = [
    "<script>window.__xss = 1; alert('xss')</script>",
    '<img src="x" onerror="window.__xss = 1; alert(\'xss\')">',
    '<a id="js-link" href="javascript:window.__xss=1;alert(\'xss\')">click me</a>',
]
EVIL = "".join(PAYLOADS)


def _assert_nothing_ran(page, dialogs: list[str]) -> None:
    page.wait_for_load_state("load")
    # The htmx presence poll and every other script of the page have run by now.
    assert page.evaluate("typeof window.__xss") == "undefined"
    # The sanitized bodies keep the link's text, never its javascript: address.
    for link in page.locator(".body a", has_text="click me").all():
        link.click()
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []


def test_no_payload_runs_for_the_agent_or_the_customer(world, new_page):
    ticket = open_ticket(world, subject=EVIL[:300], description=EVIL,
                         description_is_html=True)  # fmt: skip
    services.comment_add(organization=world.org, actor=world.customer, ticket=ticket,
                         body=EVIL, body_is_html=True)  # fmt: skip
    services.comment_add(
        organization=world.org, actor=world.agent, ticket=ticket, body=EVIL
    )  # plain text: shown escaped
    for name in PAYLOADS:
        attachment_add(organization=world.org, actor=world.customer, ticket=ticket,
                       stream=io.BytesIO(b"data"), file_name=f"{name}.txt")  # fmt: skip
    for email, url in (
        (world.agent.email, f"/desk/tickets/{ticket.number}/"),
        (world.agent.email, "/desk/queues/unassigned/"),
        (world.customer.email, f"/portal/tickets/{ticket.number}/"),
        (world.customer.email, "/portal/"),
    ):
        page = new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog, seen=dialogs: (seen.append(dialog.message),
                                                        dialog.dismiss()))  # fmt: skip
        sign_in(page, email)
        page.goto(url)
        _assert_nothing_ran(page, dialogs)
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("img").count() == 0
