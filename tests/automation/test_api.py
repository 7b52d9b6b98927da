"""/api/v1/rules and /api/v1/macros: who may do what, 422s naming the path, isolation."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import Team
from deskbase.core.tenancy import tenant
from deskbase.tickets.models import Ticket
from tests.api.helpers import ApiClient, list_size_and_queries
from tests.automation.helpers import make_rule
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

TAG = [{"type": "add_tags", "tags": ["seen"]}]
RULE = {
    "name": "Escalate VIP",
    "activator": "event",
    "definition": {
        "events": ["ticket.updated"],
        "conditions": {"all": [{"field": "ticket.priority", "op": "is", "value": "high"}]},
        "actions": [{"type": "set_priority", "priority": "urgent"}],
    },
}


def test_managers_and_admins_manage_rules_agents_and_customers_do_not(tenant_a, app_role):
    created = ApiClient(tenant_a.manager).post("/rules", RULE)
    assert created.status_code == 201, created.content
    assert (created.json()["position"], created.json()["version"]) == (1, 1)
    for user in (tenant_a.agent, tenant_a.customer):
        assert ApiClient(user).post("/rules", {**RULE, "name": "x"}).status_code == 403
        assert ApiClient(user).get("/rules").status_code == 403


def test_a_reference_to_another_tenants_team_is_a_422_naming_the_path(tenant_a, tenant_b, app_role):
    with tenant(tenant_b.org):
        theirs = Team.objects.create(organization=tenant_b.org, name="Globex team")
    actions = [*TAG, {"type": "set_team", "team": theirs.id}]
    body = {**RULE, "definition": {**RULE["definition"], "actions": actions}}
    response = ApiClient(tenant_a.admin).post("/rules", body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "actions[1].team"


def test_another_tenants_rule_is_a_404(tenant_a, tenant_b, app_role):
    theirs = make_rule(tenant_b, "Theirs", events=["ticket.created"], actions=TAG)
    admin = ApiClient(tenant_a.admin)
    assert admin.get(f"/rules/{theirs.id}").status_code == 404
    assert admin.patch(f"/rules/{theirs.id}", {"name": "Mine"}).status_code == 404
    assert admin.delete(f"/rules/{theirs.id}").status_code == 404
    assert admin.get("/rules").json() == []


def test_saving_makes_versions_and_a_stale_version_is_a_409(tenant_a, app_role):
    admin = ApiClient(tenant_a.admin)
    rule = admin.post("/rules", RULE).json()
    renamed = admin.patch(f"/rules/{rule['id']}", {"version": 1, "name": "VIP"})
    assert renamed.json()["version"] == 2
    assert admin.patch(f"/rules/{rule['id']}", {"version": 1, "name": "Old"}).status_code == 409
    versions = admin.get(f"/rules/{rule['id']}/versions").json()
    assert [(v["version"], v["name"]) for v in versions] == [(2, "VIP"), (1, "Escalate VIP")]


def test_test_this_rule_on_a_ticket_explains_each_condition(tenant_a, app_role):
    admin = ApiClient(tenant_a.admin)
    rule = admin.post("/rules", RULE).json()
    ticket = open_ticket(tenant_a, priority="low")
    answer = admin.post(f"/rules/{rule['id']}/test", {"ticket": ticket.number}).json()
    assert answer["matches"] is False
    assert answer["conditions"] == [{
        "path": "conditions.all[0]", "matched": False,
        "reason": "priority was low; the rule wants it is high",
    }]  # fmt: skip


def test_export_then_import_round_trips_and_dry_run_writes_nothing(tenant_a, app_role):
    admin = ApiClient(tenant_a.admin)
    admin.post("/rules", RULE)
    exported = admin.get("/rules/export").json()["yaml"]
    changed = exported.replace("Escalate VIP", "Escalate VIP 2")
    dry = admin.post("/rules/import", {"yaml": changed}).json()
    assert (dry["dry_run"], dry["created"]) == (True, ["Escalate VIP 2"])
    assert len(admin.get("/rules").json()) == 1
    done = admin.post("/rules/import", {"yaml": changed, "dry_run": False}).json()
    assert done["created"] == ["Escalate VIP 2"]
    assert len(admin.get("/rules").json()) == 2
    again = admin.post("/rules/import", {"yaml": exported, "dry_run": False}).json()
    assert again["unchanged"] == ["Escalate VIP"]
    bad = admin.post("/rules/import", {"yaml": exported.replace("urgent", "huge")})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "rules[0].actions[0].priority"


def test_reorder_puts_rules_in_the_given_order(tenant_a, app_role):
    admin = ApiClient(tenant_a.admin)
    a = admin.post("/rules", RULE).json()
    b = admin.post("/rules", {**RULE, "name": "Second"}).json()
    ordered = admin.post("/rules/reorder", {"activator": "event", "ids": [b["id"], a["id"]]})
    assert [(r["name"], r["position"]) for r in ordered.json()] == [
        ("Second", 1), ("Escalate VIP", 2),
    ]  # fmt: skip
    missing = admin.post("/rules/reorder", {"activator": "event", "ids": [b["id"]]})
    assert missing.status_code == 422


def test_agents_apply_macros_to_one_ticket_or_in_bulk(tenant_a, tenant_b, app_role):
    macro = make_rule(tenant_a, "Close as spam", "manual",
                      actions=[{"type": "add_tags", "tags": ["spam"]},
                               {"type": "add_note", "body": "Spam, closed."}])  # fmt: skip
    agent = ApiClient(tenant_a.agent)
    assert [m["name"] for m in agent.get("/macros").json()] == ["Close as spam"]
    one, two = open_ticket(tenant_a), open_ticket(tenant_a)
    applied = agent.post(f"/tickets/{one.number}/macros/{macro.id}/apply")
    assert applied.status_code == 200, applied.content
    assert applied.json()["changes"] == ["added tags spam", "added an internal note"]
    bulk = agent.post(f"/macros/{macro.id}/apply", {"tickets": [one.number, two.number]})
    assert [r["number"] for r in bulk.json()] == [one.number, two.number]
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=two.pk).tags == ["spam"]
    # Another tenant's ticket numbers and macros answer like missing ones
    theirs = open_ticket(tenant_b)
    b_macro = make_rule(tenant_b, "Theirs", "manual", actions=TAG)
    assert agent.post(f"/macros/{b_macro.id}/apply", {"tickets": [one.number]}).status_code == 404
    assert agent.post(f"/macros/{macro.id}/apply",
                      {"tickets": [theirs.number + 100]}).status_code == 422  # fmt: skip
    assert ApiClient(tenant_a.customer).get("/macros").status_code == 403


def test_the_rule_list_costs_the_same_queries_at_1_and_50_rules(tenant_a, app_role):
    make_rule(tenant_a, "r0", events=["ticket.created"], actions=TAG)
    admin = ApiClient(tenant_a.admin)
    list_size_and_queries(admin, "/rules")  # the token's first use is written once
    one = list_size_and_queries(admin, "/rules")
    for i in range(1, 50):
        make_rule(tenant_a, f"r{i}", events=["ticket.created"], actions=TAG)
    fifty = list_size_and_queries(admin, "/rules")
    assert (one[0], fifty[0]) == (1, 50)
    assert one[1] == fifty[1]
