"""A customer opens a ticket, sees the agent's reply and rates the resolution."""

from __future__ import annotations

from playwright.sync_api import expect

from deskbase.tickets import services
from deskbase.tickets.models import CsatResponse, Ticket, TicketAttachment
from tests.e2e.conftest import screenshot, sign_in, signed_in_page


def test_customer_opens_sees_the_reply_and_rates(world, new_page, tmp_path):
    log = tmp_path / "error-log.txt"
    log.write_text("printer error 0x42\n")
    customer = new_page()
    sign_in(customer, world.customer.email)
    customer.get_by_role("link", name="New ticket").click()
    customer.get_by_label("Subject").fill("Printer shows error 0x42")
    customer.get_by_label("What happened?").fill("It started after the update.")
    customer.get_by_label("Attachments").set_input_files(str(log))
    customer.get_by_role("button", name="Open ticket").click()
    expect(customer.locator("#ticket-subject")).to_have_text("Printer shows error 0x42")
    expect(customer.get_by_role("link", name="error-log.txt")).to_be_visible()

    ticket = Ticket.objects.get(organization=world.org, subject="Printer shows error 0x42")
    assert TicketAttachment.objects.get(ticket=ticket).file_name == "error-log.txt"

    # The agent answers in the workspace, with an internal note the customer never sees.
    agent = new_page()
    sign_in(agent, world.agent.email)
    agent.goto(f"/desk/tickets/{ticket.number}/")
    agent.get_by_label("Internal note").check()
    agent.locator("#reply-editor").fill("Probably the new driver")
    agent.get_by_role("button", name="Send", exact=True).click()
    agent.get_by_label("Public reply").check()
    agent.locator("#reply-editor").fill("Please reinstall the driver from the portal.")
    agent.get_by_role("button", name="Send and resolve").click()
    expect(agent.get_by_text("resolved.")).to_be_visible()

    customer.reload()
    expect(customer.get_by_text("Please reinstall the driver from the portal.")).to_be_visible()
    expect(customer.get_by_text("Probably the new driver")).to_have_count(0)
    screenshot(customer, "portal-ticket")
    customer.get_by_label("5").check()
    customer.get_by_label("Comment (optional)").fill("Fixed, thanks")
    customer.get_by_role("button", name="Send rating").click()
    expect(customer.get_by_text("Thank you for your rating.")).to_be_visible()
    expect(customer.locator("#rate-form")).to_have_count(0)
    assert CsatResponse.objects.get(ticket=ticket).rating == 5
    customer.get_by_role("navigation", name="Main").get_by_role("link", name="My tickets").click()
    screenshot(customer, "portal-list")


def test_customer_never_sees_another_tenants_ticket(world, new_page):
    from deskbase.accounts.models import User

    globex = User.objects.get(email="customer@globex.test")
    services.ticket_create(organization=globex.organization, actor=globex,
                           subject="Globex only")  # fmt: skip
    page = signed_in_page(new_page, world.customer.email)
    expect(page.get_by_text("You have no tickets yet.")).to_be_visible()
    response = page.goto("/portal/tickets/1/")
    assert response.status == 404
