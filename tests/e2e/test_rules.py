"""A manager builds a rule with condition and action rows (htmx adds them), the rule acts
on a new ticket, and the ticket's timeline says why."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import signed_in_page
from tests.tickets.factories import open_ticket


def test_a_manager_builds_a_rule_from_rows_and_the_timeline_explains_it(world, new_page):
    page = signed_in_page(new_page, world.manager.email)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Rules & macros").click()
    page.get_by_role("link", name="New event rule").click()
    page.get_by_label("Name", exact=True).fill("Escalate high")
    page.get_by_label("ticket.created").check()
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field", exact=True).fill("ticket.priority")
    page.get_by_label("Operator, or the old value of a change").fill("is")
    page.get_by_label("Value, the new value of a change, or minutes").fill("high")
    page.get_by_role("button", name="Add an action").click()
    page.get_by_label("Action", exact=True).select_option("set_priority")
    page.get_by_label("Value of the action").fill("urgent")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Rule 'Escalate high' saved (version 1).")).to_be_visible()
    ticket = open_ticket(world, priority="high")
    page.goto(page.url.split("/manage/")[0] + f"/desk/tickets/{ticket.number}/")
    expect(page.locator("p.event.rule")).to_contain_text(
        "Rule 'Escalate high' set priority to urgent: priority was high"
    )
