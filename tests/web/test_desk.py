"""The agent workspace: actions go through the services, with the API's rules."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from deskbase.accounts.models import Team, TeamMembership
from deskbase.tickets import services
from deskbase.tickets.models import Ticket, TicketAttachment, TicketComment
from deskbase.web import selectors as web_selectors
from tests.tickets.factories import open_ticket
from tests.web.helpers import canned_picked, signed_in


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.all_objects.get(pk=ticket.pk)


def test_a_customer_cannot_enter_the_workspace(tenant_a):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.customer)
    assert client.get("/desk/queues/open/").status_code == 403
    assert client.get(f"/desk/tickets/{ticket.number}/").status_code == 403
    response = client.post(f"/desk/tickets/{ticket.number}/assign", {"assignee": "me"})
    assert response.status_code == 403
    assert _fresh(ticket).assignee_id is None


def test_another_tenants_ticket_does_not_exist(tenant_a, tenant_b):
    open_ticket(tenant_b)
    theirs = open_ticket(tenant_b, subject="Globex secret")  # number 2: none such in A
    open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    page = client.get(f"/desk/tickets/{theirs.number}/")
    assert page.status_code == 404
    assert b"Globex secret" not in page.content
    queue = client.get("/desk/queues/open/")
    assert b"Globex secret" not in queue.content
    response = client.post(f"/desk/tickets/{theirs.number}/merge", {"into": "1"})
    assert _fresh(theirs).status == "new"
    assert response.status_code in (302, 404)


def test_queue_lists_and_counts_my_tickets(tenant_a):
    mine = open_ticket(tenant_a, assignee=tenant_a.agent, subject="Mine")
    open_ticket(tenant_a, subject="Nobody's")
    response = signed_in(tenant_a.agent).get("/desk/queues/mine/")
    assert response.status_code == 200
    assert [t.number for t in response.context["tickets"]] == [mine.number]
    counts = dict((q.slug, n) for q, n in response.context["queues"])
    assert counts["mine"] == 1
    assert counts["unassigned"] == 1
    assert counts["open"] == 2


def test_every_queue_count_is_the_number_of_tickets_its_page_lists(tenant_a, tenant_b):
    # Given tickets in every queue of tenant A: mine, a team's, unassigned, one whose
    # first response is due within the hour (at risk), one due tomorrow, one breached,
    # one paused and due (not at risk), a resolved one and a trashed one (in none);
    # and tenant B with the same shapes
    for world in (tenant_a, tenant_b):
        team = Team.objects.create(organization=world.org, name="Tier 1")
        TeamMembership.objects.create(organization=world.org, team=team, user=world.agent)
        open_ticket(world, assignee=world.agent, subject="Mine")
        open_ticket(world, team=team, subject="Team's")
        soon, later, breached, paused = (open_ticket(world, subject=s) for s in "abcd")
        now = timezone.now()
        Ticket.all_objects.filter(pk=soon.pk).update(
            first_response_due_at=now + timedelta(minutes=30), resolution_due_at=None
        )
        Ticket.all_objects.filter(pk=later.pk).update(
            first_response_due_at=now + timedelta(days=1), resolution_due_at=None
        )
        Ticket.all_objects.filter(pk=breached.pk).update(
            sla_breach=True, resolution_due_at=now - timedelta(hours=1)
        )
        Ticket.all_objects.filter(pk=paused.pk).update(
            sla_paused_at=now, resolution_due_at=now + timedelta(minutes=5)
        )
        done = open_ticket(world, assignee=world.agent, subject="Done")
        services.ticket_change_status(organization=world.org, actor=world.agent,
                                      ticket=done, status="resolved")  # fmt: skip
        services.ticket_soft_delete(
            organization=world.org, actor=world.manager, ticket=open_ticket(world)
        )
    client = signed_in(tenant_a.agent)
    # When the agent opens the workspace
    counts = {q.slug: n for q, n in client.get("/desk/queues/mine/").context["queues"]}
    # Then each queue's count is what its page lists, of tenant A's tickets only
    for slug, n in counts.items():
        if n is None:
            continue
        listed = client.get(f"/desk/queues/{slug}/").context["tickets"]
        assert n == len(listed), slug
        assert {t.organization_id for t in listed} <= {tenant_a.org.id}
    assert counts | {"recent": None} == {
        "mine": 1,
        "team": 1,
        "unassigned": 5,
        "open": 6,
        "at_risk": 1,
        "breached": 1,
        "recent": None,
    }


def test_a_queue_beyond_the_cap_shows_the_cap_and_a_plus(tenant_a, monkeypatch):
    # Given a count beyond the cap (a tenant with a backlog of more than 10,000)
    open_ticket(tenant_a)
    real = web_selectors.queue_counts

    def capped(**kwargs):
        return real(**kwargs) | {"open": web_selectors.COUNT_CAP + 1}

    monkeypatch.setattr(web_selectors, "queue_counts", capped)
    # When the agent opens the workspace, then the queue shows "10000+"
    page = signed_in(tenant_a.agent).get("/desk/queues/mine/").content.decode()
    assert f">{web_selectors.COUNT_CAP}+</span>" in page


def test_queue_filters_and_pages(tenant_a):
    for i in range(30):
        open_ticket(tenant_a, subject=f"T{i}", priority="urgent" if i % 3 == 0 else "low")
    client = signed_in(tenant_a.agent)
    urgent = client.get("/desk/queues/open/?priority=urgent").context["tickets"]
    assert len(urgent) == 10
    assert {t.priority for t in urgent} == {"urgent"}
    first = client.get("/desk/queues/open/")
    second = client.get(f"/desk/queues/open/?cursor={first.context['next_cursor']}")
    numbers = [t.number for t in first.context["tickets"]] + [
        t.number for t in second.context["tickets"]
    ]
    assert len(numbers) == 30 == len(set(numbers))


def test_agent_triages_assigns_replies_and_resolves(tenant_a):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    url = f"/desk/tickets/{ticket.number}/"
    client.post(url + "assign", {"assignee": "me", "version": ticket.version})
    assert _fresh(ticket).assignee_id == tenant_a.agent.id
    client.post(url + "edit", {"version": _fresh(ticket).version, "subject": "Printer on fire",
                               "priority": "urgent", "tags": "hardware, fire"})  # fmt: skip
    assert _fresh(ticket).priority == "urgent"
    assert _fresh(ticket).tags == ["hardware", "fire"]
    client.post(url + "reply", {"kind": "internal", "body": "Calling facilities"})
    upload = SimpleUploadedFile("notes.txt", b"extinguisher used")
    client.post(url + "reply", {"kind": "public", "body": "We are on it", "files": [upload],
                                "then": "resolve"})  # fmt: skip
    current = _fresh(ticket)
    assert current.status == "resolved"
    assert current.first_response_at is not None
    kinds = list(TicketComment.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert sorted(kinds) == ["internal", "public"]
    assert TicketAttachment.objects.get(ticket=ticket).file_name == "notes.txt"
    page = client.get(url)
    assert b"Calling facilities" in page.content
    assert b"priority: medium" in page.content  # the change, from the history


def test_a_stale_edit_shows_the_newer_values(tenant_a):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    stale = ticket.version
    services.ticket_update(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket,
                           version=stale, subject="Renamed by the manager")  # fmt: skip
    response = client.post(f"/desk/tickets/{ticket.number}/edit",
                           {"version": stale, "subject": "My subject", "priority": "low",
                            "tags": ""})  # fmt: skip
    assert response.status_code == 409
    text = response.content.decode()
    assert "Someone else changed this ticket" in text
    assert "Renamed by the manager" in text  # the newer value is on the page
    assert "My subject" in text  # and what the agent sent
    assert _fresh(ticket).subject == "Renamed by the manager"


def test_assign_shows_load_and_availability(tenant_a, tenant_b):
    # Given the agent has one active ticket, plus a resolved one and a deleted one
    # (not load), and another tenant's agent has tickets of their own
    open_ticket(tenant_a, assignee=tenant_a.agent)
    done = open_ticket(tenant_a, assignee=tenant_a.agent)
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent,
                                  ticket=done, status="resolved")  # fmt: skip
    gone = open_ticket(tenant_a, assignee=tenant_a.agent)
    services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.manager, ticket=gone)
    open_ticket(tenant_b, assignee=tenant_b.agent)
    ticket = open_ticket(tenant_a)
    response = signed_in(tenant_a.manager).get(f"/desk/tickets/{ticket.number}/")
    loads = {a.id: a for a in response.context["agents"]}
    assert loads[tenant_a.agent.id].load == 1
    assert loads[tenant_a.manager.id].load == 0  # no active ticket: 0, not missing
    assert tenant_b.agent.id not in loads
    assert loads[tenant_a.agent.id].availability == "online"
    assert "1/20 open, Online" in response.content.decode()


def test_merge_delete_and_restore(tenant_a):
    source = open_ticket(tenant_a, subject="Duplicate")
    target = open_ticket(tenant_a, subject="Original")
    client = signed_in(tenant_a.agent)
    client.post(f"/desk/tickets/{source.number}/merge", {"into": f"#{target.number}"})
    assert _fresh(source).merged_into_id == target.id
    # The merged ticket's page names its target, in the timeline and through the API
    page = client.get(f"/desk/tickets/{source.number}/")
    assert page.context["detail"].ticket.merged_into_number == target.number
    assert f"#{target.number}" in page.content.decode()
    api = signed_in(tenant_a.agent).get(f"/api/v1/tickets/{source.number}")
    assert api.json()["merged_into_number"] == target.number
    client.post(f"/desk/tickets/{target.number}/delete", {"reason": "spam"})
    assert _fresh(target).deleted_at is not None
    trash = client.get("/desk/queues/trash/")
    assert target.number in [t.number for t in trash.context["tickets"]]
    client.post(f"/desk/tickets/{target.number}/restore")
    assert _fresh(target).deleted_at is None


def test_an_unknown_merge_target_is_a_message_naming_the_field(tenant_a):
    source = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    url = f"/desk/tickets/{source.number}/"
    response = client.post(url + "merge", {"into": "999", "next": url}, follow=True)
    assert "into: No ticket #999 here." in response.content.decode()
    assert _fresh(source).merged_into_id is None


def test_canned_response_fills_the_reply_box(tenant_a):
    box = canned_picked(tenant_a, "Hello {{ customer.name }}!")
    assert "Hello Acme Customer!" in box
    assert 'id="reply-body"' in box


def test_presence_names_the_other_agent(tenant_a):
    ticket = open_ticket(tenant_a)
    url = f"/desk/tickets/{ticket.number}/presence"
    first = signed_in(tenant_a.agent).get(url)
    assert b"Heads up" not in first.content
    second = signed_in(tenant_a.manager).get(url)
    assert "Acme Agent" in second.content.decode()
    assert "Acme Manager" not in second.content.decode()


def test_next_ticket_goes_to_my_most_urgent_other_ticket(tenant_a):
    first = open_ticket(tenant_a, assignee=tenant_a.agent)
    response = signed_in(tenant_a.agent).get(f"/desk/next/?after={first.number + 100}")
    assert response.status_code == 302
    assert response["Location"] == f"/desk/tickets/{first.number}/"


def test_an_agent_sets_their_own_availability(tenant_a):
    from deskbase.accounts.models import User

    client = signed_in(tenant_a.agent)
    client.post("/desk/availability", {"availability": "away", "next": "/desk/queues/open/"})
    assert User.objects.get(pk=tenant_a.agent.pk).availability == "away"
    response = client.post("/desk/availability", {"availability": "asleep"}, follow=True)
    assert "availability: Choose online, away or offline." in response.content.decode()
