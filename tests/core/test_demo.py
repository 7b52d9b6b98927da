"""The demo data of `make run`: made through the services, consistent, two tenants."""

from __future__ import annotations

import pytest
from django.db.models import Count

from deskbase.core.demo import load_demo
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.sla.models import SlaEvent
from deskbase.tickets.models import CsatResponse, Ticket, TicketComment

pytestmark = pytest.mark.django_db


def test_demo_has_conversations_sla_states_and_csat_in_its_own_tenant(client, request):
    assert load_demo(tickets=60) is True
    assert load_demo(tickets=60) is False  # never twice
    demo = Organization.objects.get(slug="demo")
    other = Organization.objects.get(slug="other")
    request.getfixturevalue("app_role")  # from here on, as the server reads it
    with tenant(demo):
        statuses = dict(Ticket.objects.values_list("status").annotate(n=Count("id")))
        assert Ticket.objects.count() == 60
        assert {"new", "open", "resolved", "closed"} <= set(statuses)
        assert TicketComment.objects.filter(kind="internal").exists()
        assert CsatResponse.objects.exists()
        assert SlaEvent.objects.filter(kind="met").exists()
        assert Ticket.objects.filter(sla_breach=True).exists()
    # And the demo admin signs in to the demo organization only
    response = client.post(
        "/login/",
        {"organization": "demo", "username": "admin@demo.deskbase.test",
         "password": "demo-admin-pass"},
    )  # fmt: skip
    assert response.status_code == 302
    assert other.name not in client.get("/").content.decode()
