"""/api/v1/custom-fields: agents read, admins and managers define; tickets take typed values."""

from __future__ import annotations

import pytest

from tests.api.helpers import ApiClient, list_size_and_queries
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

PLAN = {"key": "plan", "label": "Plan", "field_type": "select", "options": ["free", "pro"]}


def test_a_manager_defines_a_field_and_an_agent_reads_it(tenant_a, tenant_b):
    created = ApiClient(tenant_a.manager).post("/custom-fields", PLAN)
    assert created.status_code == 201, created.content
    assert created.json()["options"] == ["free", "pro"]
    listed = ApiClient(tenant_a.agent).get("/custom-fields").json()
    assert [f["key"] for f in listed] == ["plan"]
    # Tenant B sees none of it, and A's id is a 404 there
    assert ApiClient(tenant_b.agent).get("/custom-fields").json() == []
    field_id = created.json()["id"]
    assert ApiClient(tenant_b.admin).get(f"/custom-fields/{field_id}").status_code == 404
    patched = ApiClient(tenant_b.admin).patch(f"/custom-fields/{field_id}", {"label": "Mine"})
    assert patched.status_code == 404
    assert ApiClient(tenant_a.agent).get(f"/custom-fields/{field_id}").json()["label"] == "Plan"


def test_an_agent_or_a_customer_cannot_define_fields(tenant_a):
    assert ApiClient(tenant_a.agent).post("/custom-fields", PLAN).status_code == 403
    assert ApiClient(tenant_a.customer).post("/custom-fields", PLAN).status_code == 403
    assert ApiClient(tenant_a.customer).get("/custom-fields").status_code == 403
    assert ApiClient(tenant_a.admin).get("/custom-fields").json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({**PLAN, "key": "Plan!"}, "key"), ({**PLAN, "options": []}, "options"),
     ({**PLAN, "field_type": "colour"}, "field_type")],
)  # fmt: skip
def test_a_bad_definition_is_a_422_naming_the_field(tenant_a, body, field):
    response = ApiClient(tenant_a.admin).post("/custom-fields", body)
    assert response.status_code == 422
    assert field in response.content.decode()
    assert ApiClient(tenant_a.admin).get("/custom-fields").json() == []


def test_a_duplicate_key_is_a_422(tenant_a):
    client = ApiClient(tenant_a.admin)
    client.post("/custom-fields", PLAN)
    response = client.post("/custom-fields", PLAN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "key"


def test_tickets_take_only_typed_values_once_fields_are_defined(tenant_a):
    ApiClient(tenant_a.admin).post("/custom-fields", PLAN)
    agent = ApiClient(tenant_a.agent)
    ticket = open_ticket(tenant_a)
    match = {"If-Match": f'"{ticket.version}"'}
    bad = agent.patch(f"/tickets/{ticket.number}", {"custom_fields": {"plan": "gold"}}, match)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "custom_fields.plan"
    good = agent.patch(f"/tickets/{ticket.number}", {"custom_fields": {"plan": "pro"}}, match)
    assert good.status_code == 200, good.content
    assert good.json()["custom_fields"] == {"plan": "pro"}


def test_archiving_keeps_the_field_listed_only_on_request(tenant_a):
    client = ApiClient(tenant_a.admin)
    field_id = client.post("/custom-fields", PLAN).json()["id"]
    assert client.patch(f"/custom-fields/{field_id}", {"archived": True}).json()["archived"]
    assert client.get("/custom-fields").json() == []
    assert len(client.get("/custom-fields", include_archived="true").json()) == 1


def test_the_list_has_a_fixed_query_count(tenant_a):
    client = ApiClient(tenant_a.admin)
    client.post("/custom-fields", PLAN)
    _, small = list_size_and_queries(client, "/custom-fields")
    for i in range(49):
        client.post("/custom-fields", {"key": f"f{i}", "label": f"F{i}", "field_type": "text"})
    size, large = list_size_and_queries(client, "/custom-fields")
    assert (size, large) == (50, small)
