"""The desk in German, in the browser: an agent of an organization whose language is
German works the queue in German, with times in the organization's zone."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from deskbase.organizations.settings_services import organization_settings_update
from tests.e2e.conftest import screenshot, signed_in_page
from tests.tickets.factories import open_ticket


def test_the_queue_in_german(world, new_page):
    organization_settings_update(
        organization=world.org, actor=world.admin, language="de", timezone="Europe/Berlin"
    )
    open_ticket(world, subject="VPN bricht jede Stunde ab", priority="high")
    open_ticket(world, subject="Rechnungskopie für März", priority="low")
    open_ticket(world, subject="Drucker im 2. OG druckt nicht")

    page = signed_in_page(new_page, world.agent.email)
    page.get_by_role("link", name=re.compile("Nicht zugewiesen")).first.click()
    expect(page.get_by_role("heading", name="Nicht zugewiesen")).to_be_visible()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    expect(page.get_by_text("Massenaktion")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "de"
    page.locator("input.pick").first.check()
    expect(page.locator("#bulk-count")).to_have_text("1 ausgewählt")
    screenshot(page, "agent-queue-de")
