"""The ticket page in the browser: menus, header, timeline, time zone, merges, the canned
picker; the SLA policy form refused; Enter in the header's search box."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import expect

from deskbase.organizations.models import Organization
from deskbase.sla import policies
from deskbase.sla.models import SlaPolicy
from deskbase.sla.services import mark_breaches
from deskbase.tickets import canned, services
from deskbase.tickets.models import Ticket
from tests.e2e.conftest import signed_in_page
from tests.tickets.factories import open_ticket

# Screenshots for looking at while working on the pages (not the docs' own).
SHOTS = Path("/tmp/deskbase-e2e-shots")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_pending_ticket_in_berlin_reads_right(world, new_page):
    # Given an organization in Berlin, an SLA policy, and a pending ticket opened at
    # 2026-01-15 11:30 UTC whose first response is overdue
    Organization.objects.filter(pk=world.org.pk).update(timezone="Europe/Berlin")
    policies.sla_policy_create(
        organization=world.org, actor=world.admin, name="Medium", priority="medium",
        customer_tier="basic", first_response_minutes=30, resolution_minutes=240,
        business_hours=False,
    )  # fmt: skip
    ticket = open_ticket(world, subject="Berlin printer", description="Jammed again.")
    mark_breaches(organization=world.org, now=datetime.now(UTC) + timedelta(days=2))
    for status in ("open", "pending"):
        current = Ticket.objects.get(pk=ticket.pk)
        services.ticket_change_status(organization=world.org, actor=world.agent,
                                      ticket=current, status=status)  # fmt: skip
    Ticket.objects.filter(pk=ticket.pk).update(created_at=datetime(2026, 1, 15, 11, 30, tzinfo=UTC))
    # When the agent opens it
    page = signed_in_page(new_page, world.agent.email)
    page.goto(f"/desk/tickets/{ticket.number}/")
    # Then the status menu shows Pending, the header no version, times are Berlin's
    expect(page.get_by_label("Status", exact=True)).to_have_value("pending")
    expect(page.get_by_label("Priority")).to_have_value("medium")
    expect(page.get_by_label("Assignee")).to_have_value("")
    header = page.locator(".ticket-head .meta")
    expect(header).to_contain_text("opened 2026-01-15 12:30 CET")
    expect(header).not_to_contain_text("version")
    expect(page.locator("body")).not_to_contain_text(re.compile(r"\bversion\b", re.I))
    # and the timeline speaks in words, never of jobs or functions
    conversation = page.get_by_role("region", name="Conversation")
    expect(conversation).to_contain_text("SLA breached: first response overdue")
    expect(conversation).not_to_contain_text("mark_breaches")
    expect(conversation).not_to_contain_text("_")
    _shot(page, "ticket-berlin")
    # The panel has no submit buttons: each control saves as it changes
    expect(page.locator("#properties").get_by_role("button", name="Save")).to_have_count(0)
    assert Ticket.objects.get(pk=ticket.pk).status == "pending"


def test_merging_brings_the_description_and_the_canned_picker_names_the_org(world, new_page):
    source = open_ticket(world, subject="VPN drops", description="Drops every hour since Monday.")
    target = open_ticket(world, subject="VPN unstable", description="Cannot stay connected.")
    canned.canned_response_create(
        organization=world.org, actor=world.admin, name="Sign-off",
        body="Regards, the {{ organization.name }} team",
    )  # fmt: skip
    page = signed_in_page(new_page, world.agent.email)
    page.goto(f"/desk/tickets/{source.number}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Into ticket number").fill(str(target.number))
    page.get_by_role("button", name="Merge").click()
    expect(page.locator("#ticket-subject")).to_have_text("VPN unstable")
    conversation = page.get_by_role("region", name="Conversation")
    note = conversation.locator("article.entry.system").filter(has_text=f"#{source.number}")
    expect(note).to_contain_text(f"Ticket #{source.number} (VPN drops) was merged")
    expect(note.locator("blockquote")).to_have_text("Drops every hour since Monday.")
    expect(conversation).to_contain_text(f"opened ticket #{source.number}")
    page.get_by_label("Canned response").select_option(label="Sign-off")
    expect(page.locator("#reply-body")).to_have_value("Regards, the Acme team")
    _shot(page, "ticket-merged")


def test_a_refused_sla_policy_keeps_what_was_typed(world, new_page):
    policies.sla_policy_create(
        organization=world.org, actor=world.admin, name="Urgent basic", priority="urgent",
        customer_tier="basic", first_response_minutes=30, resolution_minutes=240,
    )  # fmt: skip
    page = signed_in_page(new_page, world.manager.email)
    page.goto("/manage/sla/")
    page.get_by_label("Name").fill("Second urgent")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_label("Customer tier").select_option("basic")
    page.get_by_label("First response (minutes)").fill("45")
    page.get_by_label("Resolution (minutes)").fill("300")
    page.get_by_label("Count business hours only").uncheck()
    page.get_by_role("button", name="Create policy").click()
    # The form is back with every value, and the error in words naming nothing hidden
    expect(page.get_by_role("alert")).to_contain_text("already exists")
    expect(page.get_by_role("alert")).not_to_contain_text(re.compile("valid", re.I))
    expect(page.get_by_label("Name")).to_have_value("Second urgent")
    expect(page.get_by_label("Priority")).to_have_value("urgent")
    expect(page.get_by_label("First response (minutes)")).to_have_value("45")
    expect(page.get_by_label("Resolution (minutes)")).to_have_value("300")
    expect(page.get_by_label("Count business hours only")).not_to_be_checked()
    _shot(page, "sla-refused-overlap")
    # A target error sits under its input
    page.get_by_label("Customer tier").select_option("premium")
    page.get_by_label("Resolution (minutes)").fill("20")
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator("#p-res-error")).to_contain_text("cannot be shorter")
    expect(page.get_by_label("Resolution (minutes)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Customer tier")).to_have_value("premium")
    _shot(page, "sla-refused-field")
    assert SlaPolicy.objects.filter(organization=world.org).count() == 1


def test_enter_in_the_search_box_finds_what_the_suggestions_showed(world, new_page):
    ticket = open_ticket(world, subject="Webhook deliveries failing", description="HTTP 500.")
    page = signed_in_page(new_page, world.agent.email)
    page.locator("#global-search").fill("webho")
    expect(page.locator("#search-suggestions a").first).to_contain_text("Webhook deliveries")
    page.locator("#global-search").press("Enter")
    results = page.locator("#results-tickets")
    expect(results).to_contain_text("Webhook deliveries failing")
    expect(results.locator("mark").first).to_have_text("Webhook")
    _shot(page, "search-prefix")
    results.get_by_role("link", name=re.compile("Webhook deliveries failing")).click()
    expect(page.locator("#ticket-subject")).to_have_text("Webhook deliveries failing")
    assert page.url.endswith(f"/desk/tickets/{ticket.number}/")


def test_a_manager_defines_custom_fields(world, new_page):
    from tests.e2e.conftest import screenshot

    page = signed_in_page(new_page, world.manager.email)
    page.goto("/manage/custom-fields/")
    page.get_by_label("Label").fill("Plan")
    page.get_by_label(re.compile("^Key")).fill("plan")
    page.get_by_label("Type").select_option("select")
    page.get_by_label("Options of a choice (one a line)").fill("free\npro\nenterprise")
    page.get_by_role("button", name="Add field").click()
    expect(page.locator(".custom-fields").first).to_contain_text("free, pro, enterprise")
    page.get_by_label("Label").fill("Seats")
    page.get_by_label(re.compile("^Key")).fill("Seats!")
    page.get_by_label("Type").select_option("number")
    page.get_by_label("Applies to").select_option("company")
    page.get_by_role("button", name="Add field").click()
    expect(page.locator("#cf-key-error")).to_be_visible()
    page.get_by_label(re.compile("^Key")).fill("seats")
    page.get_by_role("button", name="Add field").click()
    expect(page.locator(".custom-fields").nth(1)).to_contain_text("Seats")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280 + 1
    screenshot(page, "manage-custom-fields")
