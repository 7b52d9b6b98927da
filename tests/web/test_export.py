"""CSV exports: a queue, a saved view and each dashboard table, streamed, safe in a
spreadsheet, in the reader's time zone, recorded in the audit log, staff only."""

from __future__ import annotations

import csv
import io
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deskbase.accounts.models import AuditAction, AuditLog
from deskbase.core.tenancy import tenant
from deskbase.savedviews import services as view_services
from deskbase.tickets.export import safe_cell
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300] if not response.streaming else ""
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def exports_of(world) -> list[AuditLog]:
    with tenant(world.org):
        return list(
            AuditLog.objects.filter(
                organization_id=world.org.id,
                action__in=[AuditAction.TICKETS_EXPORTED, AuditAction.REPORT_EXPORTED],
            ).order_by("id")
        )


def test_a_queue_exports_every_matching_ticket_with_its_filters_and_safely(tenant_a, tenant_b):
    # given tickets of both organizations, one with a subject a spreadsheet would run
    formula = open_ticket(tenant_a, subject='=HYPERLINK("http://evil")', priority="urgent")
    open_ticket(tenant_a, subject="Quiet one", priority="low")
    open_ticket(tenant_b, subject="Globex secret", priority="urgent")
    # when the agent exports the open queue filtered on urgent
    response = signed_in(tenant_a.agent).get("/desk/queues/open/export.csv?priority=urgent")
    rows = rows_of(response)
    # then the header and the one matching ticket, its formula quoted as text
    assert rows[0][:3] == ["number", "subject", "status"]
    assert [r[0] for r in rows[1:]] == [str(formula.number)]
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert "Globex" not in str(rows)
    # and the export is in the audit log with its filters
    (entry,) = exports_of(tenant_a)
    assert entry.action == "tickets_exported"
    assert entry.actor_id == tenant_a.agent.id
    assert entry.detail["source"] == "queue:open"
    assert entry.detail["filters"]["priority"] == ["urgent"]
    assert exports_of(tenant_b) == []


def test_times_are_in_the_readers_time_zone(tenant_a):
    open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    with timezone.override(zoneinfo.ZoneInfo("UTC")):
        utc = rows_of(client.get("/desk/queues/open/export.csv"))
    with tenant(tenant_a.org):
        tenant_a.org.timezone = "Asia/Tokyo"
        tenant_a.org.save(update_fields=["timezone"])
    tokyo = rows_of(client.get("/desk/queues/open/export.csv"))
    created = utc[0].index("created_at")
    assert tokyo[1][created].endswith("+09:00")
    assert tokyo[1][created] != utc[1][created]


def test_a_saved_view_exports_in_its_sort(tenant_a):
    low = open_ticket(tenant_a, subject="Low", priority="low")
    high = open_ticket(tenant_a, subject="High", priority="high")
    view = view_services.view_create(
        organization=tenant_a.org, actor=tenant_a.agent, name="Mine by priority",
        filters={"status": ["new", "open"]}, sort="priority",
    )  # fmt: skip
    rows = rows_of(signed_in(tenant_a.agent).get(f"/desk/views/{view.id}/export.csv"))
    assert [r[0] for r in rows[1:]] == [str(high.number), str(low.number)]
    assert exports_of(tenant_a)[0].detail["source"] == f"view:{view.id}"


def test_customers_and_other_organizations_are_refused(tenant_a, tenant_b):
    open_ticket(tenant_a)
    view = view_services.view_create(
        organization=tenant_a.org, actor=tenant_a.agent, name="Everything", filters={},
        sort="updated",
    )  # fmt: skip
    customer = signed_in(tenant_a.customer)
    assert customer.get("/desk/queues/open/export.csv").status_code == 403
    assert customer.get("/desk/dashboard/sla.csv").status_code == 403
    other = signed_in(tenant_b.admin)
    assert other.get(f"/desk/views/{view.id}/export.csv").status_code == 404
    assert exports_of(tenant_a) == []


def test_the_export_runs_the_same_statements_for_one_ticket_and_fifty(tenant_a):
    client = signed_in(tenant_a.agent)
    open_ticket(tenant_a)
    rows_of(client.get("/desk/queues/open/export.csv"))  # warm what is read once

    def statements() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            rows = rows_of(client.get("/desk/queues/open/export.csv"))
        return len(rows) - 1, len(captured.captured_queries)

    one, at_one = statements()
    for n in range(49):
        open_ticket(tenant_a, subject=f"More {n}")
    fifty, at_fifty = statements()
    assert (one, fifty) == (1, 50)
    assert at_one == at_fifty


@pytest.mark.parametrize("table", ["trends", "sla", "channels", "categories", "csat"])
def test_each_dashboard_table_exports(tenant_a, table):
    open_ticket(tenant_a, priority="high")
    rows = rows_of(signed_in(tenant_a.agent).get(f"/desk/dashboard/{table}.csv"))
    assert rows[0]
    (entry,) = exports_of(tenant_a)
    assert entry.action == "report_exported"
    assert entry.detail["table"] == table


def test_the_sla_table_lists_priorities_low_to_urgent_and_agents_are_for_managers(tenant_a):
    rows = rows_of(signed_in(tenant_a.manager).get("/desk/dashboard/sla.csv"))
    order = ["low", "medium", "high", "urgent"]
    found = [r[0] for r in rows[1:-1]]
    assert found == sorted(found, key=order.index)
    assert rows[-1][0] == "all"
    assert rows_of(signed_in(tenant_a.manager).get("/desk/dashboard/agents.csv"))[0][0] == "agent"
    assert signed_in(tenant_a.agent).get("/desk/dashboard/agents.csv").status_code == 403
    assert signed_in(tenant_a.agent).get("/desk/dashboard/nothing.csv").status_code == 404


def test_the_pages_link_to_their_exports(tenant_a):
    client = signed_in(tenant_a.manager)
    queue = client.get("/desk/queues/open/?priority=high").content.decode()
    assert "/desk/queues/open/export.csv?priority=high" in queue
    dashboard = client.get("/desk/dashboard/?team=").content.decode()
    for table in ("trends", "sla", "channels", "categories", "csat", "agents"):
        assert f"/desk/dashboard/{table}.csv" in dashboard


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_quoted(text):
    assert safe_cell(text) == "'" + text
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) == ""
