"""The agent's ticket page: what it shows people (menus, header, timeline, times)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from deskbase.accounts.models import Team
from deskbase.organizations.models import Organization
from deskbase.sla import policies
from deskbase.sla.services import mark_breaches
from deskbase.tickets import services
from deskbase.tickets.models import Category, Ticket
from tests.tickets.factories import open_ticket
from tests.web.helpers import canned_picked, signed_in


def _page(world, ticket: Ticket) -> str:
    response = signed_in(world.agent).get(f"/desk/tickets/{ticket.number}/")
    assert response.status_code == 200
    return response.content.decode()


def _selected(html: str, select_id: str) -> list[str]:
    """The values of the selected options of one <select> of the page."""
    found = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"no menu #{select_id}"
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', found.group(1))


def _timeline(html: str) -> str:
    found = re.search(r'<section class="conversation".*?</section>', html, re.S)
    assert found
    return found.group(0)


def test_the_canned_picker_fills_in_the_organization_name(tenant_a, tenant_b):
    # Given a canned response naming the organization, when the agent picks it
    text = canned_picked(tenant_a, "Thanks for contacting {{ organization.name }} support.")
    # Then the organization's name is filled in (not the other tenant's, not empty)
    assert "Thanks for contacting Acme support." in text
    assert "Globex" not in text


def test_every_menu_shows_the_current_value(tenant_a):
    # Given a pending ticket with a priority, team, category and assignee
    team = Team.objects.create(organization=tenant_a.org, name="Network")
    Team.objects.create(organization=tenant_a.org, name="Billing")
    category = Category.objects.create(organization=tenant_a.org, name="Hardware")
    Category.objects.create(organization=tenant_a.org, name="Access")
    ticket = open_ticket(tenant_a, priority="high", team=team, category=category,
                         assignee=tenant_a.manager)  # fmt: skip
    for status in ("open", "pending"):
        current = Ticket.objects.get(pk=ticket.pk)
        services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent,
                                      ticket=current, status=status)  # fmt: skip
    # When the agent opens it
    html = _page(tenant_a, ticket)
    # Then each menu has the ticket's current value selected
    assert _selected(html, "status") == ["pending"]
    assert _selected(html, "priority") == ["high"]
    assert _selected(html, "team") == [str(team.id)]
    assert _selected(html, "category") == [str(category.id)]
    assert _selected(html, "assignee") == [str(tenant_a.manager.id)]


def test_an_unassigned_ticket_selects_nobody(tenant_a):
    html = _page(tenant_a, open_ticket(tenant_a))
    assert _selected(html, "assignee") == [""]
    assert _selected(html, "team") == [""]
    assert _selected(html, "status") == ["new"]


def test_the_header_does_not_show_the_row_version(tenant_a):
    # Given a ticket changed a few times (its version counts up)
    ticket = open_ticket(tenant_a)
    for subject in ("One", "Two", "Three"):
        ticket = services.ticket_update(
            organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
            version=ticket.version, subject=subject,
        )  # fmt: skip
    html = _page(tenant_a, ticket)
    # Then the page says nothing of versions; the forms still carry it, hidden
    visible = re.sub(r"<[^>]+>", " ", html)
    assert "version" not in visible.lower()
    assert f'<input type="hidden" name="version" value="{ticket.version}">' in html


def test_the_timeline_names_no_job_or_function(tenant_a):
    # Given a ticket under an SLA policy, overdue and marked by the periodic check
    policies.sla_policy_create(
        organization=tenant_a.org, actor=tenant_a.admin, name="Medium", priority="medium",
        customer_tier="basic", first_response_minutes=30, resolution_minutes=240,
        business_hours=False,
    )  # fmt: skip
    ticket = open_ticket(tenant_a)
    assert mark_breaches(organization=tenant_a.org, now=datetime.now(UTC) + timedelta(days=2))
    # When the agent opens it
    timeline = _timeline(_page(tenant_a, ticket))
    # Then the breach reads as words, with no job or function name
    assert "mark_breaches" not in timeline
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", re.sub(r"<[^>]+>", " ", timeline))
    assert "SLA breached: first response overdue" in timeline
    assert "SLA breached: resolution overdue" in timeline


def test_times_are_shown_in_the_organization_time_zone(tenant_a):
    # Given an organization in Berlin and a ticket opened at 2026-01-15 11:30 UTC
    Organization.objects.filter(pk=tenant_a.org.pk).update(timezone="Europe/Berlin")
    ticket = open_ticket(tenant_a, subject="Berlin time")
    at = datetime(2026, 1, 15, 11, 30, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=at)
    changed = Ticket.objects.get(pk=ticket.pk).updated_at  # kept by a trigger: now
    # When an agent opens the ticket and a customer their portal page
    agent_page = _page(tenant_a, ticket)
    customer = signed_in(tenant_a.customer).get(f"/portal/tickets/{ticket.number}/")
    listing = signed_in(tenant_a.customer).get("/portal/")
    # Then 12:30 Berlin time (CET) is shown, never 11:30 UTC
    for html in (agent_page, customer.content.decode()):
        assert "2026-01-15 12:30 CET" in html
        assert "11:30" not in html
    berlin = changed.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"{berlin:%Y-%m-%d %H:%M}" in listing.content.decode()
    assert f"{changed.astimezone(UTC):%Y-%m-%d %H:%M}" not in listing.content.decode()


def test_times_stay_in_utc_for_an_organization_in_utc(tenant_a):
    ticket = open_ticket(tenant_a)
    at = datetime(2026, 7, 1, 8, 5, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=at)
    assert "2026-07-01 08:05 UTC" in _page(tenant_a, ticket)


def test_a_merged_tickets_description_shows_on_the_target(tenant_a, tenant_b):
    # Given two tickets of one customer
    source = open_ticket(
        tenant_a, subject="VPN drops", description="Drops every hour since Monday."
    )
    target = open_ticket(tenant_a, subject="VPN unstable")
    open_ticket(tenant_b, subject="Globex VPN", description="Globex words.")
    client = signed_in(tenant_a.agent)
    # When the agent merges the source into the target
    response = client.post(f"/desk/tickets/{source.number}/merge", {"into": target.number})
    assert response.status_code == 302
    # Then the target's timeline quotes the source's description, marked as from #source
    timeline = _timeline(client.get(f"/desk/tickets/{target.number}/").content.decode())
    assert f"Ticket #{source.number} (VPN drops) was merged into this ticket." in timeline
    assert "<blockquote><p>Drops every hour since Monday.</p></blockquote>" in timeline
    assert f"opened ticket #{source.number}" in timeline
    assert "Globex" not in timeline
    # and the customer sees it on the portal (their own words)
    portal = signed_in(tenant_a.customer).get(f"/portal/tickets/{target.number}/")
    assert "Drops every hour since Monday." in portal.content.decode()
    # and the source says where it went, by number
    source_page = _timeline(client.get(f"/desk/tickets/{source.number}/").content.decode())
    assert f"merged this ticket into #{target.number}" in source_page


def test_tag_changes_read_as_lists_of_words(tenant_a):
    ticket = open_ticket(tenant_a)
    services.ticket_update(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                           version=ticket.version, tags=["vpn", "network"])  # fmt: skip
    timeline = _timeline(_page(tenant_a, ticket))
    assert "changed tags: — → vpn, network" in timeline
    assert "[" not in re.sub(r"<[^>]+>", " ", timeline)
