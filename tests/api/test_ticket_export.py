"""GET /api/v1/tickets/export: the list's filters and sort, every page, as streamed CSV."""

from __future__ import annotations

import csv
import io

import pytest

from deskbase.accounts.models import AuditAction, AuditLog
from deskbase.core.tenancy import tenant
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def test_the_export_holds_the_filtered_tickets_of_the_callers_organization(
    tenant_a, tenant_b, app_role
):
    # given tickets in two organizations
    urgent = open_ticket(tenant_a, subject="-2+3", priority="urgent")
    open_ticket(tenant_a, subject="Low", priority="low")
    open_ticket(tenant_b, subject="Globex urgent", priority="urgent")
    # when an agent exports the urgent ones
    response = ApiClient(tenant_a.agent).get("/tickets/export", priority="urgent", sort="created")
    # then a CSV of that one ticket, its formula-like subject quoted
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == [str(urgent.number)]
    assert rows[1][1] == "'-2+3"
    assert "Globex" not in text
    with tenant(tenant_a.org):
        entry = AuditLog.objects.get(action=AuditAction.TICKETS_EXPORTED)
    assert entry.detail["source"] == "api"
    assert entry.detail["filters"] == {"priority": ["urgent"]}


def test_customers_are_refused_and_bad_filters_name_their_field(tenant_a, app_role):
    refused = ApiClient(tenant_a.customer).get("/tickets/export")
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("application/problem+json")
    bad = ApiClient(tenant_a.agent).get("/tickets/export", priority="extreme")
    assert bad.status_code == 422
    assert "priority" in bad.content.decode()
    with tenant(tenant_a.org):
        assert not AuditLog.objects.filter(action=AuditAction.TICKETS_EXPORTED).exists()
