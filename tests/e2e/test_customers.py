"""Customers and companies, links and split, in the browser; the docs' screenshots of the
customer and company pages."""

from __future__ import annotations

import io

from playwright.sync_api import expect

from deskbase.accounts import services as people
from deskbase.customers import services as companies
from deskbase.tickets import links, services, timeentries
from deskbase.tickets.attachments import attachment_add
from deskbase.tickets.models import Ticket
from tests.e2e.conftest import screenshot, signed_in_page
from tests.tickets.factories import open_ticket


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} overflows: {width}px"


def test_splitting_a_reply_off_opens_a_linked_ticket(world, new_page):
    # Given a ticket whose customer added a second problem, with a file, in a reply
    ticket = open_ticket(world, subject="Printer and fax", description="The printer jams.")
    reply = services.comment_add(organization=world.org, actor=world.customer, ticket=ticket,
                                 body="Also, the fax line is dead.")  # fmt: skip
    attachment_add(organization=world.org, actor=world.customer, ticket=ticket,
                   file_name="fax.txt", stream=io.BytesIO(b"no tone"), comment=reply)  # fmt: skip
    # When the agent splits the reply off (and confirms)
    page = signed_in_page(new_page, world.agent.email)
    page.goto(f"/desk/tickets/{ticket.number}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("article.entry.public").filter(has_text="fax line is dead").get_by_role(
        "button", name="Split into a new ticket"
    ).click()
    # Then the new ticket opens: the reply is its description, its file is there, it is linked
    new = Ticket.objects.filter(organization=world.org).order_by("-id").first()
    assert new is not None
    assert new.number != ticket.number
    page.wait_for_url(f"**/desk/tickets/{new.number}/")
    expect(page.get_by_text(f"Split off into ticket #{new.number}.")).to_be_visible()
    conversation = page.get_by_role("region", name="Conversation")
    expect(conversation).to_contain_text("the fax line is dead")
    expect(conversation.get_by_role("link", name="fax.txt")).to_be_visible()
    expect(page.locator(".ticket-links")).to_contain_text(f"Related to #{ticket.number}")
    # and the original shows the link from its side
    page.goto(f"/desk/tickets/{ticket.number}/")
    expect(page.locator(".ticket-links")).to_contain_text(f"Related to #{new.number}")
    expect(conversation).to_contain_text(f"split off into ticket #{new.number}")


def _initech(world):
    company = companies.company_create(
        organization=world.org, actor=world.admin, name="Initech", tier="premium",
        domains=["initech.com", "initech.de"], notes="Key account. Prefers phone calls.",
    )  # fmt: skip
    names = ["Peter Gibbons", "Milton Waddams", "Samir Nagheenanajar", "Michael Bolton"]
    staff = [people.user_create(organization=world.org, actor=None, role="customer",
                                email=f"{n.split()[0].lower()}@initech.com", full_name=n)
             for n in names]  # fmt: skip
    subjects = ["TPS report cover sheets missing", "Stapler was moved to the basement",
                "Printer shows PC LOAD LETTER", "Cannot reach the intranet from home",
                "Invoice 4711 charged twice", "New laptop for the fourth floor"]  # fmt: skip
    made = []
    for i, subject in enumerate(subjects):
        ticket = open_ticket(world, customer=staff[i % 2], subject=subject,
                             priority=("low", "medium", "high")[i % 3])  # fmt: skip
        made.append(ticket)
        timeentries.time_entry_add(organization=world.org, actor=world.agent, ticket=ticket,
                                   minutes=15 + 10 * i, note="Phone call")  # fmt: skip
    for ticket, rating, said in ((made[0], 5, "Quick and friendly."), (made[2], 3, "")):
        services.ticket_change_status(organization=world.org, actor=world.agent, ticket=ticket,
                                      status="resolved")  # fmt: skip
        services.csat_record(organization=world.org, actor=ticket.customer, ticket=ticket,
                             rating=rating, comment=said)  # fmt: skip
    links.link_add(organization=world.org, actor=world.agent, ticket=made[1], other=made[3],
                   relation="related")  # fmt: skip
    return company, staff[0], made


def test_customer_and_company_pages(world, new_page):
    company, peter, made = _initech(world)
    page = signed_in_page(new_page, world.manager.email)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/desk/customers/{peter.id}/")
    expect(page.get_by_role("heading", name="Peter Gibbons")).to_be_visible()
    expect(page.locator(".contact")).to_contain_text("Initech")
    expect(page.locator(".contact")).to_contain_text("Premium")
    expect(page.get_by_text("rated 5/5")).to_be_visible()
    _fits(page)
    screenshot(page, "customer-page")
    page.get_by_role("link", name="Initech").first.click()
    expect(page.get_by_role("heading", name="Initech")).to_be_visible()
    expect(page.locator("body")).to_contain_text("milton@initech.com")
    expect(page.locator("body")).to_contain_text("Printer shows PC LOAD LETTER")
    _fits(page)
    screenshot(page, "company-page")
    # The ticket page shows the requester's company and recent tickets, links and time
    page.goto(f"/desk/tickets/{made[4].number}/")
    sidebar = page.get_by_role("complementary", name="Ticket properties")
    expect(sidebar).to_contain_text("Initech")
    expect(sidebar.locator(".recent-tickets")).to_contain_text(made[2].subject)
    expect(sidebar.locator("#time-total")).to_contain_text("55 min logged")
    # and at 390 px nothing overflows
    for url in (f"/desk/customers/{peter.id}/", f"/desk/companies/{company.id}/"):
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(url)
        _fits(page)
