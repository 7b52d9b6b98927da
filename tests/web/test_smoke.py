"""Every page answers for the roles it is for."""

from __future__ import annotations

import pytest

from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

STAFF_PAGES = [
    "/", "/desk/", "/desk/queues/mine/", "/desk/queues/unassigned/", "/desk/queues/team/",
    "/desk/queues/open/", "/desk/queues/at_risk/", "/desk/queues/breached/",
    "/desk/queues/recent/", "/desk/queues/trash/", "/desk/dashboard/", "/desk/search/?q=x",
    "/manage/canned/",
]  # fmt: skip
MANAGER_PAGES = ["/manage/organization/", "/manage/sla/", "/manage/teams/", "/manage/people/"]


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_pages_render(tenant_a, url):
    open_ticket(tenant_a)
    response = signed_in(tenant_a.agent).get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("url", MANAGER_PAGES)
def test_manager_pages_render(tenant_a, url):
    response = signed_in(tenant_a.manager).get(url)
    assert response.status_code == 200


def test_ticket_page_renders(tenant_a):
    ticket = open_ticket(tenant_a)
    response = signed_in(tenant_a.agent).get(f"/desk/tickets/{ticket.number}/")
    assert response.status_code == 200
    assert b"Printer on fire" in response.content


def test_portal_pages_render(tenant_a):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.customer)
    assert client.get("/").status_code == 200
    assert client.get("/portal/").status_code == 200
    assert client.get("/portal/new/").status_code == 200
    assert client.get(f"/portal/tickets/{ticket.number}/").status_code == 200
