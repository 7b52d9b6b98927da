"""/api/v1/audit: admins read their organization's audit log, a page at a time."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.accounts import audit
from tests.api.helpers import ApiClient


def size_and_queries(client: ApiClient) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/audit", action="signed_in")
    assert response.status_code == 200
    return len(response.json()["items"]), len(queries)


pytestmark = pytest.mark.django_db


def test_admins_page_through_their_organizations_entries_only(tenant_a, tenant_b, app_role):
    for _ in range(3):
        audit.record("signed_in", organization_id=tenant_a.org.id, actor_id=tenant_a.agent.id,
                     subject_id=tenant_a.agent.id)  # fmt: skip
    audit.record("signed_in", organization_id=tenant_b.org.id, actor_id=tenant_b.agent.id)
    client = ApiClient(tenant_a.admin)
    first = client.get("/audit", limit=2, action="signed_in")
    assert first.status_code == 200, first.content
    page = first.json()
    assert [e["actor_email"] for e in page["items"]] == ["agent@acme.test"] * 2
    rest = client.get("/audit", limit=2, action="signed_in", cursor=page["next_cursor"])
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    ids = {e["id"] for e in page["items"]} | {e["id"] for e in rest.json()["items"]}
    assert len(ids) == 3
    assert b"globex" not in first.content + rest.content


def test_bad_filters_name_the_field_and_others_are_refused(tenant_a, app_role):
    client = ApiClient(tenant_a.admin)
    for params, field in (({"action": "hacked"}, "action"), ({"cursor": "soon"}, "cursor")):
        response = client.get("/audit", **params)
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field
    assert ApiClient(tenant_a.manager).get("/audit").status_code == 403


def test_the_list_costs_the_same_queries_for_one_entry_and_fifty(tenant_a, app_role):
    client = ApiClient(tenant_a.admin)
    client.get("/audit")  # the token's first use is recorded once
    audit.record("signed_in", organization_id=tenant_a.org.id, actor_id=tenant_a.agent.id)
    size, one = size_and_queries(client)
    for _ in range(49):
        audit.record("signed_in", organization_id=tenant_a.org.id, actor_id=tenant_a.agent.id)
    size50, fifty = size_and_queries(client)
    assert (size, size50) == (1, 50)
    assert one == fifty
