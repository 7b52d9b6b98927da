"""Exporting everything about a customer: built by the worker, a chunk at a time, with
progress; a ZIP of JSON and the files; resumable after a dead worker; expiring."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from deskbase.accounts.models import AuditLog
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.mail.models import Participant
from deskbase.privacy import exports, services
from deskbase.privacy.models import DataExport, ExportState
from deskbase.tickets import services as tickets
from deskbase.tickets.attachments import attachment_add
from tests.mail import admin_factories as mail_factories
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def request_export(world, user=None):
    return services.export_request(
        organization=world.org, actor=world.admin, user_id=(user or world.customer).id
    )


def read(export: DataExport) -> zipfile.ZipFile:
    export.refresh_from_db()
    return zipfile.ZipFile(exports.export_path(export))


def test_the_export_holds_everything_about_the_customer(tenant_a, tenant_b, monkeypatch):
    # Given a customer with tickets, a CC, comments, an internal note, a file, mail
    monkeypatch.setattr(exports, "CHUNK", 2)  # several chunks of tickets
    org, customer = tenant_a.org, tenant_a.customer
    mine = [open_ticket(tenant_a, subject=f"Mine {n}") for n in range(3)]
    cc = open_ticket(tenant_a, subject="Copied", customer=tenant_a.manager)
    hidden = open_ticket(tenant_a, subject="Not theirs", customer=tenant_a.manager)
    with tenant(org):
        Participant.objects.create(organization=org, ticket=cc, email=customer.email)
    tickets.comment_add(organization=org, actor=customer, ticket=mine[0], body="My words")
    tickets.comment_add(organization=org, actor=tenant_a.agent, ticket=mine[0],
                        body="Agents only", kind="internal")  # fmt: skip
    attachment_add(organization=org, actor=customer, ticket=mine[1], file_name="scan.txt",
                   stream=io.BytesIO(b"scanned"))  # fmt: skip
    box = mail_factories.mailbox(tenant_a)
    raw = mail_factories.inbound(tenant_a, box, sender=customer.email)
    open_ticket(tenant_b, subject="Globex ticket")  # another tenant's

    # When an admin asks for the export and the worker runs
    export = request_export(tenant_a)
    assert export.state == ExportState.QUEUED
    done = exports.build_pending()

    # Then it is ready, complete, and expires after the configured days
    export.refresh_from_db()
    assert done["built"] == 1
    assert (export.state, export.progress, export.total) == ("ready", 4, 4)
    assert export.expires_at - export.finished_at == timedelta(days=7)
    archive = read(export)
    names = set(archive.namelist())
    assert {"profile.json", "tickets.json", "attachments.json", "csat.json", "sessions.json",
            "audit.json", "mail.json", "kb_feedback.json"} <= names  # fmt: skip
    assert json.loads(archive.read("profile.json"))["email"] == customer.email
    items = json.loads(archive.read("tickets.json"))
    assert sorted(t["subject"] for t in items) == ["Copied", "Mine 0", "Mine 1", "Mine 2"]
    first = next(t for t in items if t["subject"] == "Mine 0")
    assert [c["body_text"] for c in first["comments"]] == ["My words"]  # not the note
    assert not [t for t in items if t["subject"] == hidden.subject]
    file = json.loads(archive.read("attachments.json"))[0]
    assert archive.read(f"files/{file['id']}-scan.txt") == b"scanned"
    assert archive.read(f"mail/{raw.id}.eml").startswith(b"From: someone@example.test")
    audit = json.loads(archive.read("audit.json"))
    assert "data_export_requested" in {entry["action"] for entry in audit}
    assert b"globex" not in b"".join(archive.read(name) for name in names).lower()
    with tenant(org):
        assert (
            AuditLog.objects.filter(organization_id=org.id, action="data_export_requested").count()
            == 1
        )


def test_an_export_a_dead_worker_left_running_is_built_again(tenant_a):
    # Given an export a worker began and died on (its lock went with its connection)
    open_ticket(tenant_a)
    export = request_export(tenant_a)
    with tenant(tenant_a.org):
        DataExport.objects.filter(pk=export.pk).update(state="running", progress=0, total=1)
    # When the task runs again
    exports.build_pending()
    # Then the export is finished
    export.refresh_from_db()
    assert (export.state, export.progress) == ("ready", 1)


def test_an_export_being_built_elsewhere_is_left_alone(tenant_a):
    export = request_export(tenant_a)
    # Given another worker holds the export's lock
    import psycopg
    from django.db import connection

    other = psycopg.connect(**connection.get_connection_params())
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [exports.LOCK_SPACE, export.pk])
        # When this worker runs
        assert exports.build_pending()["built"] == 0
        export.refresh_from_db()
        assert export.state == "queued"
    finally:
        other.close()
    assert exports.build_pending()["built"] == 1


def test_expired_exports_lose_their_file(tenant_a):
    export = request_export(tenant_a)
    exports.build_pending()
    export.refresh_from_db()
    path = exports.export_path(export)
    assert path.exists()
    with tenant(tenant_a.org):
        DataExport.objects.filter(pk=export.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    assert exports.build_pending()["expired"] == 1
    export.refresh_from_db()
    assert export.state == "expired"
    assert not path.exists()


def test_only_admins_export_and_only_their_tenant(tenant_a, tenant_b):
    for role in ("agent", "manager"):
        with pytest.raises(PermissionDenied):
            services.export_request(organization=tenant_a.org, actor=getattr(tenant_a, role),
                                    user_id=tenant_a.customer.id)  # fmt: skip
    with pytest.raises(NotFound):
        request_export(tenant_a, tenant_b.customer)
    request_export(tenant_a)
    with pytest.raises(ValidationFailed):  # one at a time per person
        request_export(tenant_a)


def test_erasing_the_customer_deletes_their_exports(tenant_a):
    # Given a built export and one waiting
    built = request_export(tenant_a)
    exports.build_pending()
    built.refresh_from_db()
    path = exports.export_path(built)
    with tenant(tenant_a.org):
        waiting = DataExport.objects.create(organization=tenant_a.org, subject=tenant_a.customer)
    # When the customer is erased
    customer = tenant_a.customer
    services.customer_erase(organization=tenant_a.org, actor=tenant_a.admin,
                            user_id=customer.id, confirm=customer.email)  # fmt: skip
    # Then the file is gone and neither export can be built or downloaded
    assert not path.exists()
    built.refresh_from_db()
    waiting.refresh_from_db()
    assert (built.state, waiting.state) == ("expired", "failed")
    assert exports.build_pending()["built"] == 0


def test_tickets_are_read_a_chunk_at_a_time(tenant_a, monkeypatch):
    # Given five tickets and chunks of two
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(exports, "CHUNK", 2)
    for n in range(5):
        open_ticket(tenant_a, subject=f"Ticket {n}")
    request_export(tenant_a)
    # When the export is built
    with CaptureQueriesContext(connection) as captured:
        exports.build_pending()
    # Then no statement read the tickets without a bound, and it took three reads
    reads = [q["sql"] for q in captured.captured_queries
             if 'FROM "tickets_ticket"' in q["sql"] and "COUNT(*)" not in q["sql"]
             and "tickets_ticketattachment" not in q["sql"].split("FROM")[1]]  # fmt: skip
    assert len(reads) == 4, reads  # 2 + 2 + 1, then an empty one
    assert all("LIMIT 2" in sql for sql in reads)
