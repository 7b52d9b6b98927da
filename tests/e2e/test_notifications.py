"""An agent's bell counts a new notification without a reload; the list and the settings
grid."""

from __future__ import annotations

from playwright.sync_api import expect

from deskbase.tickets import services
from tests.e2e.conftest import screenshot, signed_in_page
from tests.tickets.factories import open_ticket


def test_a_notification_arrives_without_a_reload(world, new_page, settings):
    settings.NOTIFICATIONS_POLL_SECONDS = 1
    # Given the agent on their queue, with nothing unread
    page = signed_in_page(new_page, world.agent.email)
    page.goto("/desk/")
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", "Notifications: 0 unread")
    # When the manager assigns a ticket to the agent, and the customer replies on it
    ticket = open_ticket(world, subject="Printer on fire")
    services.ticket_assign(organization=world.org, actor=world.manager, ticket=ticket,
                           assignee=world.agent)  # fmt: skip
    other = open_ticket(world, subject="VPN drops every hour")
    services.ticket_assign(organization=world.org, actor=world.manager, ticket=other,
                           assignee=world.agent)  # fmt: skip
    for body in ("Any news?", "It is smoking now"):
        services.comment_add(organization=world.org, actor=world.customer, ticket=other,
                             body=body)  # fmt: skip
    # Then the bell counts them without a reload (htmx polls it)
    expect(bell).to_have_attribute("aria-label", "Notifications: 2 unread")
    expect(page.locator("#bell .bell-count")).to_have_text("2")
    # And the list shows both, the grouped one with its count
    bell.click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    items = page.locator("li.notification.unread")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("VPN drops every hour")
    expect(items.first).to_contain_text("\u00d73")
    screenshot(page, "notifications-list")
    # When the agent marks one read
    page.get_by_role("button", name=f"Mark #{ticket.number} read").click()
    expect(page.locator("li.notification.unread")).to_have_count(1)
    expect(page.locator("#bell")).to_have_attribute("aria-label", "Notifications: 1 unread")
    # And the settings grid saves a choice
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Tickets for New ticket").select_option("all")
    page.get_by_label("SLA breached by e-mail").uncheck()
    screenshot(page, "notifications-settings")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Notification settings saved.")).to_be_visible()
    expect(page.get_by_label("Tickets for New ticket")).to_have_value("all")
    expect(page.get_by_label("SLA breached by e-mail")).not_to_be_checked()
