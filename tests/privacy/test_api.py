"""The privacy and sessions API: the same services, problems naming the field, admins
only for personal data, another tenant's ids like missing ones."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from deskbase.accounts.models import AuditLog, UserSession
from deskbase.core.tenancy import tenant
from deskbase.privacy import exports
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _session(world, person, agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"):
    store = SessionStore()
    store.create()
    with tenant(world.org):
        row = UserSession.objects.create(organization_id=world.org.id, user_id=person.id,
                                         address="198.51.100.7", user_agent=agent,
                                         session_key=store.session_key)  # fmt: skip
    return row, store.session_key


def test_people_list_and_end_their_own_sessions(tenant_a, tenant_b):
    # Given two sessions of the customer and one of the agent
    mine, key = _session(tenant_a, tenant_a.customer)
    _session(tenant_a, tenant_a.customer, agent="Chrome/120 Windows")
    agents, _ = _session(tenant_a, tenant_a.agent)
    globex, _ = _session(tenant_b, tenant_b.customer)
    api = ApiClient(tenant_a.customer)
    # When the customer lists their sessions
    listed = api.get("/account/sessions").json()
    # Then only theirs are there, with a readable device
    assert {s["device"] for s in listed} == {"Firefox on Linux", "Chrome on Windows"}
    assert {s["address"] for s in listed} == {"198.51.100.7"}
    # When they end one, it ends (the browser's session with it)
    assert api.delete(f"/account/sessions/{mine.id}").status_code == 204
    assert not SessionStore().exists(key)
    assert len(api.get("/account/sessions").json()) == 1
    # And someone else's, or another tenant's, is a missing one
    for other in (agents.id, globex.id, 987654):
        answer = api.delete(f"/account/sessions/{other}")
        assert answer.status_code == 404
        assert answer["Content-Type"] == "application/problem+json"
    with tenant(tenant_a.org):
        assert UserSession.objects.get(pk=agents.pk).ended_at is None


def test_admins_end_anyones_sessions(tenant_a, tenant_b):
    one, _ = _session(tenant_a, tenant_a.customer)
    _session(tenant_a, tenant_a.customer)
    admin = ApiClient(tenant_a.admin)
    assert admin.delete(f"/account/sessions/{one.id}").status_code == 204
    answer = admin.client.delete(f"/api/v1/users/{tenant_a.customer.id}/sessions",
                                 headers=admin._headers(None))  # fmt: skip
    assert answer.json() == {"ended": 1}
    foreign = admin.client.delete(f"/api/v1/users/{tenant_b.customer.id}/sessions",
                                  headers=admin._headers(None))  # fmt: skip
    assert foreign.status_code == 404
    agent = ApiClient(tenant_a.agent)
    refused = agent.client.delete(f"/api/v1/users/{tenant_a.customer.id}/sessions",
                                  headers=agent._headers(None))  # fmt: skip
    assert refused.status_code == 403


def test_an_export_through_the_api(tenant_a, tenant_b):
    open_ticket(tenant_a, subject="Exported ticket")
    admin = ApiClient(tenant_a.admin)
    customer_id = tenant_a.customer.id
    # When an admin asks for an export
    queued = admin.post(f"/privacy/customers/{customer_id}/exports")
    assert queued.status_code == 202
    export_id = queued.json()["id"]
    assert queued.json()["state"] == "queued"
    # Then it cannot be downloaded before the worker built it
    early = admin.get(f"/privacy/exports/{export_id}/download")
    assert early.status_code == 409
    exports.build_pending()
    status = admin.get(f"/privacy/exports/{export_id}").json()
    assert (status["state"], status["progress"], status["total"]) == ("ready", 1, 1)
    # and then downloads as a ZIP, audited
    answer = admin.get(f"/privacy/exports/{export_id}/download")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/zip"
    assert answer["Cache-Control"] == "private, no-store"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content)))
    assert json.loads(archive.read("tickets.json"))[0]["subject"] == "Exported ticket"
    with tenant(tenant_a.org):
        assert (
            AuditLog.objects.filter(
                organization_id=tenant_a.org.id, action="data_export_downloaded"
            ).count()
            == 1
        )
    # Another tenant's admin, and the customer, get nothing
    assert ApiClient(tenant_b.admin).get(f"/privacy/exports/{export_id}").status_code == 404
    other = ApiClient(tenant_b.admin).get(f"/privacy/exports/{export_id}/download")
    assert other.status_code == 404
    assert ApiClient(tenant_a.customer).get(f"/privacy/exports/{export_id}").status_code == 403
    listed = admin.get(f"/privacy/customers/{customer_id}/exports").json()
    assert [e["id"] for e in listed] == [export_id]


def test_the_export_file_is_served_only_through_the_api(tenant_a):
    admin = ApiClient(tenant_a.admin)
    export_id = admin.post(f"/privacy/customers/{tenant_a.customer.id}/exports").json()["id"]
    exports.build_pending()
    # No URL of the media directory serves it
    path = exports.export_path(exports.DataExport.objects.get(pk=export_id))
    assert Client().get(f"/media/exports/{path.name}").status_code == 404


def test_erasure_through_the_api(tenant_a):
    admin = ApiClient(tenant_a.admin)
    customer = tenant_a.customer
    # A staff member is refused, naming why
    staff = admin.post(f"/privacy/customers/{tenant_a.agent.id}/erase",
                       {"confirm": tenant_a.agent.email})  # fmt: skip
    assert staff.status_code == 422
    assert staff.json()["errors"][0]["field"] == "user"
    assert "Only customers" in staff.json()["errors"][0]["message"]
    # A wrong confirmation names the field and changes nothing
    wrong = admin.post(f"/privacy/customers/{customer.id}/erase", {"confirm": "x@acme.test"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "confirm"
    # The right one erases
    done = admin.post(f"/privacy/customers/{customer.id}/erase", {"confirm": customer.email})
    assert done.status_code == 200
    assert done.json()["user_id"] == customer.id
    person = admin.get(f"/users/{customer.id}").json()
    assert person["email"] == f"erased-{customer.id}@erased.invalid"
    again = admin.post(f"/privacy/customers/{customer.id}/erase", {"confirm": person["email"]})
    assert again.status_code == 422


def _put(api, path, body):
    return api.client.put(
        f"/api/v1{path}", body, content_type="application/json", headers=api._headers(None)
    )


def test_retention_through_the_api(tenant_a):
    admin = ApiClient(tenant_a.admin)
    assert admin.get("/privacy/retention").json() == {"closed_ticket_months": None}
    put = _put(admin, "/privacy/retention", {"closed_ticket_months": 18})
    assert put.json() == {"closed_ticket_months": 18}
    bad = _put(admin, "/privacy/retention", {"closed_ticket_months": 500})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "closed_ticket_months"
    assert admin.get("/privacy/retention").json() == {"closed_ticket_months": 18}
    with tenant(tenant_a.org):
        entry = AuditLog.objects.get(organization_id=tenant_a.org.id, action="retention_changed")
    assert entry.detail == {"closed_ticket_months": [None, 18]}
