"""Forms posted from a ticket's page (web/views/tickets.py: ticket_action): the message
each says, where each goes next, and which refusals are a 409 page, a message, a 404."""

from __future__ import annotations

from django.contrib.messages import INFO, SUCCESS, get_messages

from deskbase.accounts.services import user_update
from deskbase.tickets import services
from deskbase.tickets.models import CsatResponse, Ticket
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in


def said(response) -> list[tuple[int, str]]:
    """The messages the response left for the next page, which then shows (and spends) them."""
    texts = [(m.level, m.message) for m in get_messages(response.wsgi_request)]
    if response.status_code == 302:
        assert response.client.get(response["Location"]).status_code == 200
    return texts


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.all_objects.get(pk=ticket.pk)


def test_status_says_what_happened_and_goes_back_to_the_ticket(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    n, client, first = ticket.number, signed_in(tenant_a.agent), ticket.version
    changed = client.post(f"/desk/tickets/{n}/status", {"status": "pending", "version": first})
    assert (changed.status_code, changed["Location"]) == (302, f"/desk/tickets/{n}/")
    assert said(changed) == [(SUCCESS, f"Ticket #{n} is now pending.")]
    version = fresh(ticket).version
    same = client.post(f"/desk/tickets/{n}/status", {"status": "pending", "version": version})
    assert said(same) == [(INFO, f"Ticket #{n} stays pending.")]
    # A stale version: the page again, 409, with what the agent chose
    stale = client.post(f"/desk/tickets/{n}/status", {"status": "resolved", "version": first})
    assert stale.status_code == 409
    assert stale.context["attempted"] == {"status": "resolved"}
    assert fresh(ticket).status == "pending"
    # Tenant B's agent: no such ticket, nothing changed
    form = {"status": "closed", "version": version}
    other = signed_in(tenant_b.agent).post(f"/desk/tickets/{n}/status", form)
    assert other.status_code == 404
    assert fresh(ticket).status == "pending"


def test_assign_is_a_409_page_only_for_a_stale_version(tenant_a):
    ticket = open_ticket(tenant_a)
    n, client, first = ticket.number, signed_in(tenant_a.manager), ticket.version
    done = client.post(f"/desk/tickets/{n}/assign", {"assignee": "me", "version": first})
    assert (done.status_code, done["Location"]) == (302, f"/desk/tickets/{n}/")
    assert said(done) == [(SUCCESS, f"Ticket #{n} assigned.")]
    stale = client.post(f"/desk/tickets/{n}/assign", {"assignee": "", "version": first})
    assert (stale.status_code, stale.context["attempted"]) == (409, {"assignee": ""})
    # Nobody available: a refusal of the act, said on the page it came from
    for person in (tenant_a.admin, tenant_a.manager, tenant_a.agent):
        user_update(organization=tenant_a.org, actor=person, user=person, availability="offline")
    url = f"/desk/tickets/{n}/"
    busy = client.post(url + "assign", {"assignee": "auto", "next": url})
    assert (busy.status_code, busy["Location"]) == (302, url)
    assert "No available agent can take this ticket now" in said(busy)[0][1]
    assert fresh(ticket).assignee_id == tenant_a.manager.id


def test_reply_and_resolve_say_both(tenant_a):
    ticket = open_ticket(tenant_a)
    n = ticket.number
    response = signed_in(tenant_a.agent).post(
        f"/desk/tickets/{n}/reply", {"body": "Fixed", "then": "resolve"}
    )
    assert (response.status_code, response["Location"]) == (302, f"/desk/tickets/{n}/")
    assert said(response) == [(SUCCESS, "Reply sent."), (SUCCESS, f"Ticket #{n} resolved.")]
    assert fresh(ticket).status == "resolved"


def test_merge_goes_to_the_target_and_delete_to_the_trash(tenant_a):
    source, target = open_ticket(tenant_a), open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    merged = client.post(f"/desk/tickets/{source.number}/merge", {"into": str(target.number)})
    assert merged["Location"] == f"/desk/tickets/{target.number}/"
    assert said(merged) == [(SUCCESS, f"Ticket #{source.number} merged into #{target.number}.")]
    deleted = client.post(f"/desk/tickets/{target.number}/delete", {"reason": "spam"})
    assert deleted["Location"] == "/desk/queues/trash/"
    assert said(deleted) == [(SUCCESS, f"Ticket #{target.number} moved to the trash.")]
    # Restore finds the ticket in the trash only: a live one is not there
    assert client.post(f"/desk/tickets/{source.number}/restore").status_code == 404
    restored = client.post(f"/desk/tickets/{target.number}/restore")
    assert restored["Location"] == f"/desk/tickets/{target.number}/"
    assert said(restored) == [(SUCCESS, f"Ticket #{target.number} restored.")]


def test_portal_actions_go_back_to_the_portal_ticket(tenant_a):
    ticket = open_ticket(tenant_a)
    n, client = ticket.number, signed_in(tenant_a.customer)
    page = f"/portal/tickets/{n}/"
    replied = client.post(page + "reply", {"body": "Any news?"})
    assert (replied["Location"], said(replied)) == (page, [(SUCCESS, "Reply sent.")])
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent,
                                  ticket=ticket, status="resolved")  # fmt: skip
    rated = client.post(page + "rate", {"rating": "5"})
    assert (rated["Location"], said(rated)) == (page, [(SUCCESS, "Thank you for your rating.")])
    closed = client.post(page + "close")
    assert (closed["Location"], said(closed)) == (page, [(SUCCESS, f"Ticket #{n} closed.")])
    assert (fresh(ticket).status, CsatResponse.objects.get(ticket=ticket).rating) == ("closed", 5)
