"""/api/v1/companies, /customers, ticket links, split and time: answers, errors as
problems naming the field, and list costs independent of the page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.accounts import services as people
from deskbase.customers import services as companies
from deskbase.tickets import links, timeentries
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def _problem(response, status: int, field: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_company_crud_and_domain_errors(tenant_a, app_role):
    manager = ApiClient(tenant_a.manager)
    created = manager.post("/companies", {"name": "Initech", "domains": ["Initech.COM"],
                                          "tier": "premium"})  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["domains"], body["tier"], body["people"]) == (["initech.com"], "premium", 0)
    _problem(manager.post("/companies", {"name": "initech"}), 422, "name")
    _problem(manager.post("/companies", {"name": "Other", "domains": ["initech.com"]}), 422,
             "domains")  # fmt: skip
    _problem(manager.post("/companies", {"name": "Mail", "domains": ["gmail.com"]}), 422,
             "domains")  # fmt: skip
    patched = manager.patch(f"/companies/{body['id']}", {"domains": ["initech.de"]})
    assert patched.json()["domains"] == ["initech.de"]
    assert manager.delete(f"/companies/{body['id']}").status_code == 204
    assert manager.get(f"/companies/{body['id']}").status_code == 404


def test_customer_card_with_company_and_filing(tenant_a, app_role):
    company = companies.company_create(organization=tenant_a.org, actor=tenant_a.admin,
                                       name="Initech", tier="enterprise")  # fmt: skip
    manager = ApiClient(tenant_a.manager)
    put = manager.client.put(
        f"/api/v1/customers/{tenant_a.customer.id}/company", {"company_id": company.pk},
        content_type="application/json", headers=manager._headers(None),
    )  # fmt: skip
    assert put.status_code == 200, put.content
    card = ApiClient(tenant_a.agent).get(f"/customers/{tenant_a.customer.id}").json()
    assert card["company"] == {"id": company.pk, "name": "Initech", "tier": "enterprise"}
    assert card["customer_tier"] == "enterprise"
    # staff are not customers
    assert ApiClient(tenant_a.agent).get(f"/customers/{tenant_a.admin.id}").status_code == 404


def test_link_errors_name_the_target(tenant_a, app_role):
    a, b = open_ticket(tenant_a), open_ticket(tenant_a)
    agent = ApiClient(tenant_a.agent)
    made = agent.post(f"/tickets/{a.number}/links", {"ticket": b.number, "relation": "child"})
    assert made.status_code == 201, made.content
    assert made.json()["relation"] == "parent of"
    cycle = agent.post(f"/tickets/{b.number}/links", {"ticket": a.number, "relation": "child"})
    _problem(cycle, 422, "target")
    itself = agent.post(f"/tickets/{a.number}/links", {"ticket": a.number, "relation": "related"})
    _problem(itself, 422, "target")
    seen = agent.get(f"/tickets/{b.number}/links").json()
    assert [(x["relation"], x["ticket"]["number"]) for x in seen] == [("child of", a.number)]


def test_time_entry_errors_and_totals(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    agent = ApiClient(tenant_a.agent)
    _problem(agent.post(f"/tickets/{ticket.number}/time-entries", {"minutes": 0}), 422,
             "minutes")  # fmt: skip
    made = agent.post(f"/tickets/{ticket.number}/time-entries", {"minutes": 50, "note": "x"})
    assert made.status_code == 201, made.content
    _problem(agent.patch(f"/time-entries/{made.json()['id']}", {"minutes": 2000}), 422,
             "minutes")  # fmt: skip
    listed = agent.get(f"/tickets/{ticket.number}/time-entries").json()
    assert (listed["minutes"], listed["billable_minutes"], len(listed["items"])) == (50, 50, 1)


def _count(client: ApiClient, path: str, **params) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **params)
    assert response.status_code == 200, response.content
    return len(response.json()["items"]), len(queries)


def test_lists_cost_the_same_queries_for_1_and_50(tenant_a, app_role):
    company = companies.company_create(organization=tenant_a.org, actor=tenant_a.admin,
                                       name="Initech", domains=["initech.com"])  # fmt: skip
    agent = ApiClient(tenant_a.agent)
    agent.get("/companies")  # the token's first use records it: not compared
    paths = ["/companies", f"/companies/{company.pk}/people", f"/companies/{company.pk}/tickets"]

    def add(i: int) -> None:
        person = people.user_create(organization=tenant_a.org, actor=None, role="customer",
                                    email=f"p{i}@initech.com")  # fmt: skip
        ticket = open_ticket(tenant_a, customer=person)
        companies.company_create(organization=tenant_a.org, actor=tenant_a.admin,
                                 name=f"Other {i}", domains=[f"o{i}.com"])  # fmt: skip
        timeentries.time_entry_add(organization=tenant_a.org, actor=tenant_a.agent,
                                   ticket=ticket, minutes=5)  # fmt: skip

    add(0)
    small = [_count(agent, p, limit=100) for p in paths]
    for i in range(1, 50):
        add(i)
    large = [_count(agent, p, limit=100) for p in paths]
    assert [n for n, _ in small] == [2, 1, 1]
    assert [n for n, _ in large] == [51, 50, 50]
    assert [q for _, q in small] == [q for _, q in large]


def test_time_report_groups(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    links.link_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                   other=open_ticket(tenant_a), relation="related")  # fmt: skip
    timeentries.time_entry_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                               minutes=12)  # fmt: skip
    report = ApiClient(tenant_a.manager).get("/analytics/time", by="agent").json()
    assert [(r["name"], r["minutes"]) for r in report["items"]] == [("Acme Agent", 12)]
    _problem(ApiClient(tenant_a.manager).get("/analytics/time", by="team"), 422, "by")
