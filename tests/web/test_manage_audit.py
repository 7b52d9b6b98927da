"""/manage/audit/: admins browse, filter and export their organization's audit log; the
log itself cannot be changed."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction

from deskbase.accounts import audit
from deskbase.accounts.models import AuditLog
from deskbase.accounts.services import user_update
from deskbase.core.tenancy import tenant
from deskbase.organizations.settings_services import organization_settings_update
from tests.web.helpers import queries_of, signed_in

pytestmark = pytest.mark.django_db


def test_an_admin_reads_who_did_what_with_before_and_after(tenant_a, tenant_b):
    user_update(organization=tenant_a.org, actor=tenant_a.admin, user=tenant_a.agent,
                role="manager")  # fmt: skip
    organization_settings_update(organization=tenant_a.org, actor=tenant_a.admin,
                                 session_idle_minutes=30)  # fmt: skip
    audit.record("signed_in", organization_id=tenant_b.org.id, actor_id=tenant_b.agent.id)
    page = signed_in(tenant_a.admin).get("/manage/audit/").content.decode()
    assert "Role changed" in page
    assert "agent@acme.test" in page
    assert "<code>old</code>: agent" in page
    assert "<code>new</code>: manager" in page
    assert "Organization settings changed" in page
    assert "session_idle_minutes" in page
    assert "[None, 30]" in page
    assert "globex" not in page


def test_the_log_is_filtered_by_action_person_and_day(tenant_a):
    audit.record("signed_in", organization_id=tenant_a.org.id, actor_id=tenant_a.agent.id,
                 subject_id=tenant_a.agent.id)  # fmt: skip
    audit.record("signed_in", organization_id=tenant_a.org.id, actor_id=tenant_a.manager.id,
                 subject_id=tenant_a.manager.id)  # fmt: skip
    audit.record("signed_out", organization_id=tenant_a.org.id, actor_id=tenant_a.agent.id)
    client = signed_in(tenant_a.admin)
    page = client.get("/manage/audit/?action=signed_in&person=agent@acme.test").content.decode()
    assert page.count("<td>Signed in</td>") == 1
    assert "Signed out</td>" not in page
    assert "manager@acme.test" not in page
    assert (
        "No entries."
        in client.get("/manage/audit/?since=2001-01-01&until=2001-01-31").content.decode()
    )
    refused = client.get("/manage/audit/?since=yesterday", follow=True)
    assert "since" in refused.content.decode()


def test_the_csv_export_holds_the_filtered_entries_safely(tenant_a, tenant_b):
    audit.record("sign_in_failed", organization_id=tenant_a.org.id, email="=HYPERLINK(1)")
    audit.record("sign_in_failed", organization_id=tenant_b.org.id, email="b@globex.test")
    response = signed_in(tenant_a.admin).get("/manage/audit.csv?action=sign_in_failed")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["when", "action", "actor", "subject", "address", "user_agent", "detail"]
    assert len(rows) == 2
    assert rows[1][1] == "sign_in_failed"
    assert "HYPERLINK" in rows[1][6]
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_only_admins_read_it(tenant_a, tenant_b):
    for person in (tenant_a.manager, tenant_a.agent, tenant_a.customer):
        assert signed_in(person).get("/manage/audit/").status_code == 403
        assert signed_in(person).get("/manage/audit.csv").status_code == 403


def test_the_page_costs_the_same_queries_for_one_entry_and_fifty(tenant_a):
    client = signed_in(tenant_a.admin)
    client.get("/manage/audit/")  # warm what every page reads once
    audit.record("signed_in", organization_id=tenant_a.org.id, actor_id=tenant_a.agent.id)
    one = queries_of(client, "/manage/audit/")
    for _ in range(49):
        audit.record("signed_in", organization_id=tenant_a.org.id, actor_id=tenant_a.agent.id)
    assert queries_of(client, "/manage/audit/") == one


def test_entries_cannot_be_changed_or_deleted(tenant_a, app_role):
    entry = audit.record("signed_in", organization_id=tenant_a.org.id)
    for statement in ("UPDATE accounts_auditlog SET action = 'signed_out' WHERE id = %s",
                      "DELETE FROM accounts_auditlog WHERE id = %s"):  # fmt: skip
        with (
            tenant(tenant_a.org),
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.id])
    with tenant(tenant_a.org):
        assert AuditLog.objects.get(pk=entry.pk).action == "signed_in"
