"""The queue's bulk bar and saved views in the agent workspace."""

from __future__ import annotations

import re

import pytest

from deskbase.bulk.models import BulkJob
from deskbase.savedviews import services as views
from deskbase.savedviews.models import SavedView
from deskbase.tickets import services
from deskbase.tickets.models import Ticket
from tests.tickets.factories import open_ticket
from tests.web.helpers import queries_of, signed_in

pytestmark = pytest.mark.django_db


def test_ticked_tickets_change_status_and_the_summary_names_the_skipped_one(tenant_a):
    # Given three tickets on the agent's page, one edited by someone else meanwhile
    tickets = [open_ticket(tenant_a, subject=f"Ticket {i}") for i in range(3)]
    client = signed_in(tenant_a.agent)
    page = client.get("/desk/queues/recent/").content.decode()
    ticked = re.findall(r'name="t" value="(\d+:\d+)"', page)
    assert len(ticked) == 3
    services.ticket_update(organization=tenant_a.org, actor=tenant_a.manager, ticket=tickets[0],
                           version=tickets[0].version, subject="Edited")  # fmt: skip

    # When the agent ticks all three and sets them to pending
    response = client.post("/desk/bulk", {"queue": "recent", "scope": "selected", "t": ticked,
                                          "action": "status", "status": "pending"})  # fmt: skip

    # Then the summary says two changed and names the skipped one with its reason
    assert response.status_code == 302
    summary = client.get(response["Location"]).content.decode()
    assert "Done: 2 tickets changed, 1 skipped." in summary
    assert f"#{tickets[0].number}" in summary
    assert "changed by someone else" in summary
    statuses = sorted(Ticket.objects.values_list("status", flat=True))
    assert statuses == ["new", "pending", "pending"]


def test_all_matching_the_filter_is_taken_on_the_server(tenant_a):
    # Given two tickets tagged "outage" and one not
    tagged = [open_ticket(tenant_a, tags=["outage"]) for _ in range(2)]
    other = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)

    # When the agent applies "assign to me" to all matching tag=outage
    response = client.post("/desk/bulk", {"queue": "recent", "scope": "all", "f.tag": "outage",
                                          "action": "assign", "assignee": "me",
                                          "status": "open"})  # fmt: skip

    # Then both tagged tickets are the agent's, the other is untouched
    assert response.status_code == 302
    assert {Ticket.objects.get(pk=t.pk).assignee_id for t in tagged} == {tenant_a.agent.id}
    assert Ticket.objects.get(pk=other.pk).assignee_id is None
    assert BulkJob.objects.get().described == "all 2 tickets matching the filter"


def test_someone_elses_bulk_job_is_a_404(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    client.post("/desk/bulk", {"queue": "recent", "t": [f"{ticket.number}:{ticket.version}"],
                               "action": "priority", "priority": "high"})  # fmt: skip
    job = BulkJob.objects.get()
    assert signed_in(tenant_a.manager).get(f"/desk/bulk/{job.id}/").status_code == 404
    assert signed_in(tenant_b.agent).get(f"/desk/bulk/{job.id}/").status_code == 404
    assert signed_in(tenant_a.customer).get(f"/desk/bulk/{job.id}/").status_code == 403


def test_a_filtered_queue_saved_as_a_view_shows_in_the_sidebar_with_its_count(tenant_a):
    # Given two tickets with a custom field plan=gold and one without
    for _ in range(2):
        open_ticket(tenant_a, custom_fields={"plan": "gold"}, priority="high")
    open_ticket(tenant_a, priority="high")
    client = signed_in(tenant_a.agent)

    # When the agent saves the "open" queue filtered by priority and cf plan=gold
    response = client.post("/desk/views/new", {"queue": "open", "name": "Gold high",
                                               "priority": "high", "cf_name": "plan",
                                               "cf_value": "gold"})  # fmt: skip

    # Then the view holds the filters, its page lists two tickets, the sidebar counts two
    view = SavedView.objects.get()
    assert view.filters == {"status": ["new", "open", "pending"], "priority": ["high"],
                            "cf": {"plan": "gold"}}  # fmt: skip
    assert view.owner_id == tenant_a.agent.id
    page = client.get(response["Location"]).content.decode()
    assert page.count('class="pick"') == 2
    sidebar = client.get("/desk/queues/mine/").content.decode()
    assert re.search(r"Gold high.*?<span class=\"count\"[^>]*>2</span>", sidebar, re.S)


def test_another_persons_or_tenants_view_is_a_404(tenant_a, tenant_b):
    private = views.view_create(organization=tenant_a.org, actor=tenant_a.manager,
                                name="Mine only", filters={})  # fmt: skip
    theirs = views.view_create(organization=tenant_b.org, actor=tenant_b.manager,
                               name="Globex view", filters={}, shared=True)  # fmt: skip
    client = signed_in(tenant_a.agent)
    assert client.get(f"/desk/views/{private.id}/").status_code == 404
    assert client.get(f"/desk/views/{theirs.id}/").status_code == 404
    assert "Globex view" not in client.get("/desk/queues/mine/").content.decode()


def test_an_agent_cannot_save_a_shared_view(tenant_a):
    response = signed_in(tenant_a.agent).post(
        "/desk/views/new", {"queue": "open", "name": "Everyone", "shared": "on"}
    )
    assert response.status_code == 403
    assert not SavedView.objects.exists()


def test_the_queue_with_views_has_a_fixed_query_count(tenant_a, tenant_b):
    # Given three saved views (one shared) and tickets of another tenant
    views.view_create(organization=tenant_a.org, actor=tenant_a.manager, name="Shared",
                      filters={"priority": ["high"]}, shared=True)  # fmt: skip
    for name, filters in (("Tagged", {"tag": "x"}), ("Gold", {"cf": {"p": "g"}})):
        views.view_create(organization=tenant_a.org, actor=tenant_a.agent, name=name,
                          filters=filters)  # fmt: skip
    open_ticket(tenant_b)
    client = signed_in(tenant_a.agent)

    # When the page is read with 1 ticket and with 50
    open_ticket(tenant_a)
    small = queries_of(client, "/desk/queues/recent/")
    for _ in range(49):
        open_ticket(tenant_a)
    large = queries_of(client, "/desk/queues/recent/")

    # Then the counts are the same
    assert small == large
