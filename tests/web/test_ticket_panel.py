"""The ticket page's properties panel: each change saved as it is made, stale edits shown."""

from __future__ import annotations

import io
import re

import pytest

from deskbase.tickets import customfields, services
from deskbase.tickets.attachments import attachment_add
from deskbase.tickets.models import Ticket
from tests.helpers import PNG
from tests.tickets.factories import open_ticket
from tests.web.helpers import queries_of, signed_in

HTMX = {"HTTP_HX_REQUEST": "true"}


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def _post(client, ticket, field, value, *, version=None, htmx=True):
    data = {"field": field, field: value, "version": version or _fresh(ticket).version}
    url = f"/desk/tickets/{ticket.number}/properties"
    return client.post(url, data, **(HTMX if htmx else {}))


def _define_plan(world):
    return customfields.custom_field_create(organization=world.org, actor=world.admin, key="plan",
                                            label="Plan", field_type="select",
                                            options=["free", "pro"])  # fmt: skip


def test_a_pending_ticket_shows_pending_in_the_status_menu(tenant_a):
    # Given a pending ticket
    ticket = open_ticket(tenant_a)
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                                  status="pending")  # fmt: skip
    # When the agent opens it, then the status menu selects "Pending" (and the form asks the
    # browser not to restore an older choice)
    html = signed_in(tenant_a.agent).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert '<option value="pending" selected>' in html
    assert '<option value="open" selected>' not in html
    assert 'id="properties-form"' in html
    assert 'autocomplete="off"' in html


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [("priority", "urgent", lambda t, w: t.priority == "urgent"),
     ("status", "pending", lambda t, w: t.status == "pending"),
     ("assignee", "me", lambda t, w: t.assignee_id == w.agent.id),
     ("tags", "vpn, Network", lambda t, w: t.tags == ["vpn", "network"]),
     ("subject", "New words", lambda t, w: t.subject == "New words")],
)  # fmt: skip
def test_a_change_is_saved_and_the_panel_comes_back_fresh(tenant_a, field, value, check):
    ticket = open_ticket(tenant_a)
    before = _fresh(ticket).version
    response = _post(signed_in(tenant_a.agent), ticket, field, value)
    assert response.status_code == 200
    assert check(_fresh(ticket), tenant_a)
    # The panel carries the new version, and the page is told to reload its timeline
    assert f'value="{_fresh(ticket).version}"' in response.content.decode()
    assert _fresh(ticket).version > before
    assert response["HX-Trigger"] == "ticket-changed"
    assert response.templates[0].name == "web/desk/ticket_panel.html"


def test_a_custom_field_is_saved_typed(tenant_a):
    _define_plan(tenant_a)
    customfields.custom_field_create(organization=tenant_a.org, actor=tenant_a.admin, key="seats",
                                     label="Seats", field_type="number")  # fmt: skip
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    assert _post(client, ticket, "cf_plan", "pro").status_code == 200
    assert _post(client, ticket, "cf_seats", "12").status_code == 200
    assert _fresh(ticket).custom_fields == {"plan": "pro", "seats": 12}
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "changed Plan: — → pro" in page


def test_a_wrong_custom_value_is_a_422_naming_it_and_nothing_changes(tenant_a):
    _define_plan(tenant_a)
    ticket = open_ticket(tenant_a)
    response = _post(signed_in(tenant_a.agent), ticket, "cf_plan", "gold")
    assert response.status_code == 422
    assert "Plan is one of its options" in response.content.decode()
    assert _fresh(ticket).custom_fields == {}


def test_a_stale_edit_is_a_409_with_both_values_and_a_way_to_apply_mine(tenant_a):
    # Given an agent who read the ticket at version v, and a colleague who then changed it
    ticket = open_ticket(tenant_a)
    read_at = _fresh(ticket).version
    services.ticket_update(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket,
                           version=read_at, priority="high")  # fmt: skip
    client = signed_in(tenant_a.agent)
    # When the agent changes the priority from what they saw
    response = _post(client, ticket, "priority", "low", version=read_at)
    # Then nothing is overwritten; the panel shows theirs and the current one
    assert response.status_code == 409
    assert _fresh(ticket).priority == "high"
    html = response.content.decode()
    assert 'class="mine">Low<' in html
    assert 'class="current">High<' in html
    shown = re.sub(r"<[^>]+>", " ", html.split('id="conflict"')[1].split("</div>")[0])
    assert "version" not in shown.lower()
    # And applying theirs again (at the version the conflict shows) saves it
    again = _post(client, ticket, "priority", "low", version=response.context["ticket"].version)
    assert again.status_code == 200
    assert _fresh(ticket).priority == "low"


def test_without_javascript_the_form_saves_what_changed(tenant_a):
    _define_plan(tenant_a)
    ticket = open_ticket(tenant_a, priority="low")
    data = {"version": _fresh(ticket).version, "priority": "high", "assignee": "",
            "status": "new", "team": "", "category": "", "tags": "", "subject": ticket.subject,
            "cf_plan": "free"}  # fmt: skip
    response = signed_in(tenant_a.agent).post(f"/desk/tickets/{ticket.number}/properties", data)
    assert response.status_code == 302
    fresh = _fresh(ticket)
    assert (fresh.priority, fresh.status, fresh.custom_fields) == ("high", "new", {"plan": "free"})


def test_without_javascript_a_stale_edit_is_the_page_with_a_409(tenant_a):
    ticket = open_ticket(tenant_a)
    read_at = _fresh(ticket).version
    services.ticket_update(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket,
                           version=read_at, priority="high")  # fmt: skip
    response = _post(signed_in(tenant_a.agent), ticket, "priority", "urgent", version=read_at,
                     htmx=False)  # fmt: skip
    assert response.status_code == 409
    assert 'id="timeline"' in response.content.decode()
    assert _fresh(ticket).priority == "high"


def test_another_tenants_ticket_cannot_be_changed(tenant_a, tenant_b):
    open_ticket(tenant_b)
    theirs = open_ticket(tenant_b, subject="Globex")  # number 2: none such in A
    mine = open_ticket(tenant_a)
    response = _post(signed_in(tenant_a.agent), theirs, "priority", "urgent")
    assert response.status_code == 404
    assert _fresh(theirs).priority == "medium"
    assert _fresh(mine).priority == "medium"
    # A customer is kept out of the workspace
    assert _post(signed_in(tenant_b.customer), theirs, "priority", "urgent").status_code == 403


def test_images_are_previewed_inline_in_a_sandbox_and_other_tenants_get_404(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    image = attachment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                           stream=io.BytesIO(PNG), file_name="shot.png")  # fmt: skip
    text = attachment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                          stream=io.BytesIO(b"<svg onload=alert(1)>"),
                          file_name="x.svg")  # fmt: skip
    client = signed_in(tenant_a.agent)
    response = client.get(f"/files/{image.id}/preview")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline")
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/files/{text.id}/preview").status_code == 404
    assert signed_in(tenant_b.agent).get(f"/files/{image.id}/preview").status_code == 404
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert f'<img class="thumb" src="/files/{image.id}/preview"' in page
    assert f'src="/files/{text.id}/preview"' not in page


def test_ticket_page_keeps_its_query_count_with_custom_fields_and_changes(tenant_a):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)

    def add(i: int) -> None:
        customfields.custom_field_create(
            organization=tenant_a.org, actor=tenant_a.admin, key=f"f{i}", label=f"Field {i}",
            field_type="text",
        )  # fmt: skip
        fresh = _fresh(ticket)
        services.ticket_update(organization=tenant_a.org, actor=tenant_a.agent, ticket=fresh,
                               version=fresh.version,
                               custom_fields={**fresh.custom_fields, f"f{i}": f"v{i}"})  # fmt: skip
        attachment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                       stream=io.BytesIO(PNG), file_name=f"shot{i}.png")  # fmt: skip

    add(0)
    queries_of(client, f"/desk/tickets/{ticket.number}/")  # the session's first visit fills caches
    small = queries_of(client, f"/desk/tickets/{ticket.number}/")
    for i in range(1, 50):
        add(i)
    large = queries_of(client, f"/desk/tickets/{ticket.number}/")
    assert small == large


def test_company_fields_are_edited_on_the_company_page(tenant_a, tenant_b):
    from deskbase.customers import services as companies

    company = companies.company_create(organization=tenant_a.org, actor=tenant_a.admin,
                                       name="Northwind")  # fmt: skip
    customfields.custom_field_create(
        organization=tenant_a.org, actor=tenant_a.admin, key="size", label="Size",
        field_type="number", applies_to="company",
    )  # fmt: skip
    manager = signed_in(tenant_a.manager)
    page = manager.get(f"/desk/companies/{company.id}/").content.decode()
    assert 'name="cf_size"' in page
    response = manager.post(f"/desk/companies/{company.id}/fields", {"cf_size": "40"})
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.custom_fields == {"size": 40}
    # A wrong value changes nothing; another tenant's manager cannot reach the company
    manager.post(f"/desk/companies/{company.id}/fields", {"cf_size": "forty"})
    company.refresh_from_db()
    assert company.custom_fields == {"size": 40}
    other = signed_in(tenant_b.manager).post(f"/desk/companies/{company.id}/fields",
                                             {"cf_size": "1"})  # fmt: skip
    assert other.status_code == 404
    company.refresh_from_db()
    assert company.custom_fields == {"size": 40}


def test_manage_custom_fields_lists_adds_edits_and_archives(tenant_a, tenant_b):
    client = signed_in(tenant_a.manager)
    assert client.get("/manage/custom-fields/").status_code == 200
    bad = client.post("/manage/custom-fields/", {
        "label": "Plan", "key": "Plan!", "field_type": "text", "applies_to": "ticket",
    })  # fmt: skip
    assert bad.status_code == 422
    assert 'id="cf-key-error"' in bad.content.decode()
    made = client.post("/manage/custom-fields/", {"label": "Plan", "key": "plan",
                                                   "field_type": "select", "applies_to": "ticket",
                                                   "options": "free\npro"})  # fmt: skip
    assert made.status_code == 302
    (field,) = customfields.custom_fields_for(organization=tenant_a.org, actor=tenant_a.admin)
    assert field.options == ["free", "pro"]
    edited = client.post(f"/manage/custom-fields/{field.id}/",
                         {"label": "Plan tier", "options": "free\npro\nenterprise"})  # fmt: skip
    assert edited.status_code == 302
    client.post(f"/manage/custom-fields/{field.id}/archive", {"archived": "1"})
    assert customfields.custom_fields_for(organization=tenant_a.org, actor=tenant_a.admin) == []
    # An agent may not; another tenant's admin sees a 404
    assert signed_in(tenant_a.agent).get("/manage/custom-fields/").status_code == 403
    assert signed_in(tenant_b.admin).get(f"/manage/custom-fields/{field.id}/").status_code == 404
    listing = signed_in(tenant_b.admin).get("/manage/custom-fields/").content.decode()
    assert "Plan tier" not in listing


def test_a_rich_reply_is_kept_sanitized_and_plain_text_still_works(tenant_a):
    from deskbase.tickets.models import TicketComment

    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    url = f"/desk/tickets/{ticket.number}/reply"
    rich = '<b>Fixed</b><ul><li>step</li></ul><script>alert(1)</script><a href="javascript:x">x</a>'
    assert client.post(url, {"body": "Fixed step", "body_html": rich}).status_code == 302
    assert client.post(url, {"body": "Plain <b>words</b>"}).status_code == 302
    rich_one, plain_one = TicketComment.objects.filter(ticket=ticket).order_by("id")
    assert "<b>Fixed</b>" in rich_one.body_html
    assert "<li>step</li>" in rich_one.body_html
    assert "script" not in rich_one.body_html
    assert "javascript" not in rich_one.body_html
    assert "&lt;b&gt;" in plain_one.body_html
