"""An agent triages and resolves a ticket in the browser, end to end."""

from __future__ import annotations

import io
import re

from playwright.sync_api import expect

from deskbase.tickets import canned, customfields
from deskbase.tickets.attachments import attachment_add
from deskbase.tickets.models import Ticket
from tests.e2e.conftest import screenshot, sign_in, signed_in_page
from tests.helpers import PNG
from tests.tickets.factories import open_ticket


def saved(page, act) -> None:
    """Do `act` on the properties panel and wait until its answer replaced the panel (a
    control of the old panel, filled meanwhile, would go with it)."""
    page.evaluate("document.getElementById('properties').dataset.old = '1'")
    with page.expect_response(lambda r: r.url.endswith("/properties")):
        act()
    page.wait_for_function("!document.getElementById('properties').dataset.old")


def test_agent_triages_and_resolves_a_ticket(world, new_page):
    ticket = open_ticket(world, subject="VPN drops every hour",
                         description="Since Monday the VPN disconnects.")  # fmt: skip
    open_ticket(world, subject="Invoice copy", priority="low")
    canned.canned_response_create(
        organization=world.org, actor=world.admin, name="Looking",
        body="Hello {{ customer.name }}, we are looking into it.",
    )  # fmt: skip
    customfields.custom_field_create(organization=world.org, actor=world.admin, key="plan",
                                     label="Plan", field_type="select",
                                     options=["free", "pro", "enterprise"])  # fmt: skip
    customfields.custom_field_create(organization=world.org, actor=world.admin, key="renewal",
                                     label="Renewal date", field_type="date")  # fmt: skip
    attachment_add(organization=world.org, actor=world.customer, ticket=ticket,
                   stream=io.BytesIO(PNG), file_name="vpn-error.png")  # fmt: skip

    page = signed_in_page(new_page, world.agent.email)
    page.get_by_role("link", name=re.compile("Unassigned")).click()
    expect(page.get_by_role("heading", name="Unassigned")).to_be_visible()
    # The queue's screenshots (1366 and 390 px): tests/e2e/test_layout.py.
    page.get_by_role("link", name="VPN drops every hour").click()
    expect(page.locator("#ticket-subject")).to_have_text("VPN drops every hour")

    # Another agent opens the same ticket: the collision hint names the first one.
    other = new_page()
    sign_in(other, world.manager.email)
    other.goto(f"/desk/tickets/{ticket.number}/")
    expect(other.locator("#presence")).to_contain_text("Acme Agent")

    # Keyboard: "a" assigns the ticket to me (the panel saves it and comes back fresh).
    saved(page, lambda: page.locator("body").press("a"))
    expect(page.get_by_label("Assignee")).to_have_value(str(world.agent.id))

    # Each change saves as it is made: no button.
    saved(page, lambda: page.get_by_label("Priority").select_option("high"))
    tags = page.get_by_label("Tags (comma separated)")
    saved(page, lambda: (tags.fill("vpn, network"), tags.press("Tab")))
    saved(page, lambda: page.get_by_label("Plan").select_option("pro"))
    expect(page.locator("#properties-status")).to_have_text("Saved.")
    # The timeline reloads with the changes, in words
    expect(page.locator("#timeline")).to_contain_text("changed tags: — → vpn, network")

    expect(page.locator("#timeline")).to_contain_text("changed Plan: — → pro")
    # The panel keeps the focus on the control just saved; leave it, as a reader would
    page.evaluate("document.activeElement.blur()")

    # Keyboard: "r" jumps to the reply; the canned response fills it (htmx).
    page.locator("body").press("r")
    editor = page.locator("#reply-editor")
    expect(editor).to_be_focused()
    page.get_by_label("Canned response").select_option(label="Looking")
    expect(editor).to_have_text("Hello Acme Customer, we are looking into it.")
    # The rich editor: a bold word and a list item, sent as sanitized HTML
    editor.click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Bold").click()
    page.keyboard.type("Next step")
    # An image pasted into the editor becomes an attachment of the reply
    page.evaluate(
        """async () => {
        const canvas = document.createElement('canvas');
        canvas.width = 240; canvas.height = 120;
        const ctx = canvas.getContext('2d');
        ctx.fillStyle = '#0a4fb8'; ctx.fillRect(0, 0, 240, 120);
        ctx.fillStyle = '#fff'; ctx.font = '20px sans-serif';
        ctx.fillText('VPN: error 809', 30, 65);
        const blob = await new Promise((done) => canvas.toBlob(done, 'image/png'));
        const data = new DataTransfer();
        data.items.add(new File([blob], 'paste.png', {type: 'image/png'}));
        document.getElementById('reply-editor').dispatchEvent(
            new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
        }"""
    )
    assert page.evaluate("document.getElementById('reply-files').files.length") == 1
    page.get_by_role("button", name="Send and resolve").click()
    expect(page.get_by_text("resolved.")).to_be_visible()
    expect(page.locator(".entry.public")).to_contain_text("we are looking into it")
    expect(page.locator(".entry.public .body b, .entry.public .body strong").first).to_have_text(
        "Next step"
    )
    expect(page.locator(".entry.public .files")).to_contain_text("paste.png")
    expect(page.locator(".event.change").first).to_be_visible()
    screenshot(page, "agent-ticket")

    current = Ticket.objects.get(pk=ticket.pk)
    assert current.status == "resolved"
    assert current.assignee_id == world.agent.id
    assert current.priority == "high"
    assert current.tags == ["vpn", "network"]
    assert current.custom_fields == {"plan": "pro"}


def test_a_stale_edit_shows_both_values_and_applies_mine_again(world, new_page):
    # Given two agents on the same ticket
    ticket = open_ticket(world, subject="Old subject")
    first, second = new_page(), new_page()
    for page in (first, second):
        sign_in(page, world.agent.email)
        page.goto(f"/desk/tickets/{ticket.number}/")
    # When the first sets the priority to high (saved as it is chosen)
    with first.expect_response(lambda r: r.url.endswith("/properties")):
        first.get_by_label("Priority").select_option("high")
    expect(first.locator("#properties-status")).to_have_text("Saved.")
    # and the second, who still sees the old version, chooses urgent
    with second.expect_response(lambda r: r.url.endswith("/properties")) as answer:
        second.get_by_label("Priority").select_option("urgent")
    assert answer.value.status == 409
    # Then the second sees both values, and the panel the current one
    conflict = second.locator("#conflict")
    expect(conflict).to_contain_text("Someone else changed this ticket")
    expect(conflict.locator(".mine")).to_have_text("Urgent")
    expect(conflict.locator(".current")).to_have_text("High")
    expect(second.get_by_label("Priority")).to_have_value("high")
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"
    screenshot(second, "agent-ticket-conflict")
    # And applying theirs again saves it
    with second.expect_response(lambda r: r.url.endswith("/properties")):
        conflict.get_by_role("button", name="Apply mine again").click()
    expect(second.get_by_label("Priority")).to_have_value("urgent")
    expect(second.locator("#conflict")).to_have_count(0)
    assert Ticket.objects.get(pk=ticket.pk).priority == "urgent"


def test_the_workspace_works_on_a_narrow_screen(world, new_page):
    open_ticket(world, subject="Phone-sized", assignee=world.agent)
    page = new_page(width=390, height=800)
    sign_in(page, world.agent.email)
    expect(page.get_by_role("link", name="Phone-sized")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1  # no sideways scrolling of the page itself


def test_a_manager_adds_a_team_and_an_sla_policy(world, new_page):
    page = signed_in_page(new_page, world.manager.email)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="SLA policies").click()
    page.get_by_label("Name").fill("Urgent for everyone")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_label("First response (minutes)").fill("30")
    page.get_by_label("Resolution (minutes)").fill("240")
    page.get_by_role("button", name="Create policy").click()
    expect(page.get_by_role("cell", name="Urgent for everyone")).to_be_visible()
    screenshot(page, "manage-sla")
    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Name").fill("Network")
    page.get_by_role("button", name="Create team").click()
    page.get_by_label("Add an agent").select_option(label="Acme Agent (Agent)")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("Members: Acme Agent")).to_be_visible()
