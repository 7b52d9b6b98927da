"""/manage/rules/ and the macros on the ticket page: permissions, the row editor, the
explanation, the timeline."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import Team
from deskbase.automation.models import Rule
from deskbase.core.tenancy import tenant
from deskbase.tickets import services
from deskbase.tickets.models import Ticket
from tests.automation.helpers import make_rule
from tests.tickets.factories import open_ticket
from tests.web.helpers import assert_staff_only, signed_in

pytestmark = pytest.mark.django_db

ROWS = {
    "name": "Escalate high", "activator": "event", "active": "on",
    "events": ["ticket.created", "ticket.updated"], "match": "all",
    "c_kind": ["field"], "c_subject": ["ticket.priority"], "c_op": ["is"],
    "c_value": ["high"], "c_business": [""],
    "a_type": ["set_priority", "add_tags"], "a_value": ["urgent", "vip, escalated"],
}  # fmt: skip


def test_only_admins_and_managers_enter_the_rules_pages(tenant_a, tenant_b):
    theirs = make_rule(tenant_b, "Theirs", events=["ticket.created"],
                       actions=[{"type": "add_tags", "tags": ["x"]}])  # fmt: skip
    assert signed_in(tenant_a.agent).get("/manage/rules/").status_code == 403
    assert_staff_only(tenant_a, "/manage/rules/")
    manager = signed_in(tenant_a.manager)
    assert manager.get("/manage/rules/").status_code == 200
    assert manager.get(f"/manage/rules/{theirs.id}/").status_code == 404
    assert "Theirs" not in manager.get("/manage/rules/").content.decode()


def test_the_row_editor_saves_a_rule_that_then_acts_and_shows_in_the_timeline(tenant_a):
    manager = signed_in(tenant_a.manager)
    saved = manager.post("/manage/rules/new", ROWS)
    assert saved.status_code == 302, saved.content[:800]
    with tenant(tenant_a.org):
        rule = Rule.objects.get(name="Escalate high")
    assert rule.definition == {
        "events": ["ticket.created", "ticket.updated"],
        "conditions": {"all": [{"field": "ticket.priority", "op": "is", "value": "high"}]},
        "actions": [{"type": "set_priority", "priority": "urgent"},
                    {"type": "add_tags", "tags": ["vip", "escalated"]}],
    }  # fmt: skip
    ticket = open_ticket(tenant_a, priority="high")
    page = signed_in(tenant_a.agent).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert (
        "Rule &#x27;Escalate high&#x27; set priority to urgent, added tags vip, escalated: "
        "priority was high" in page
    )
    # And the rule page explains it on a ticket, condition by condition
    low = open_ticket(tenant_a, priority="low")
    explained = manager.get(f"/manage/rules/{rule.id}/?ticket={low.number}").content.decode()
    assert "It would not match ticket #" in explained
    assert "priority was low; the rule wants it is high" in explained


def test_a_reference_to_another_tenants_team_is_refused_on_the_page(tenant_a, tenant_b):
    with tenant(tenant_b.org):
        theirs = Team.objects.create(organization=tenant_b.org, name="Globex team")
    body = {**ROWS, "a_type": ["set_team"], "a_value": [str(theirs.id)]}
    refused = signed_in(tenant_a.admin).post("/manage/rules/new", body)
    assert refused.status_code == 422
    assert "actions[0].team" in refused.content.decode()
    with tenant(tenant_a.org):
        assert not Rule.objects.exists()


def test_htmx_adds_rows(tenant_a):
    row = signed_in(tenant_a.manager).get("/manage/rules/rows/condition").content.decode()
    assert 'name="c_subject"' in row
    assert signed_in(tenant_a.agent).get("/manage/rules/rows/action").status_code == 403


def test_agents_apply_a_macro_from_the_ticket_page(tenant_a, tenant_b):
    macro = make_rule(tenant_a, "Spam", "manual", actions=[{"type": "add_tags", "tags": ["spam"]}])
    theirs = make_rule(tenant_b, "Theirs", "manual", actions=[{"type": "add_tags", "tags": ["x"]}])
    ticket = open_ticket(tenant_a)
    agent = signed_in(tenant_a.agent)
    assert "Apply a macro" in agent.get(f"/desk/tickets/{ticket.number}/").content.decode()
    done = agent.post(f"/desk/tickets/{ticket.number}/macro", {"macro": macro.id})
    assert done.status_code == 302
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).tags == ["spam"]
    refused = agent.post(f"/desk/tickets/{ticket.number}/macro", {"macro": theirs.id})
    assert refused.status_code == 404
    assert (
        signed_in(tenant_a.customer)
        .post(f"/desk/tickets/{ticket.number}/macro", {"macro": macro.id})
        .status_code
        == 403
    )


def test_reordering_with_the_arrows(tenant_a):
    tag = [{"type": "add_tags", "tags": ["x"]}]
    first = make_rule(tenant_a, "First", events=["ticket.created"], actions=tag)
    make_rule(tenant_a, "Second", events=["ticket.created"], actions=tag)
    signed_in(tenant_a.admin).post(f"/manage/rules/{first.id}/move", {"direction": "down"})
    with tenant(tenant_a.org):
        assert list(Rule.objects.order_by("position").values_list("name", flat=True)) == [
            "Second", "First",
        ]  # fmt: skip


def test_import_checks_then_imports(tenant_a):
    text = (
        "rules:\n- name: Tag new\n  activator: event\n  events: [ticket.created]\n"
        "  actions:\n  - {type: add_tags, tags: [new]}\n"
    )
    admin = signed_in(tenant_a.admin)
    checked = admin.post("/manage/rules/import", {"yaml": text, "apply": "no"}).content.decode()
    assert "Checked, nothing written: would create Tag new" in checked
    admin.post("/manage/rules/import", {"yaml": text, "apply": "yes"})
    exported = admin.get("/manage/rules/export.yaml").content.decode()
    assert "name: Tag new" in exported


def test_the_ticket_page_costs_the_same_with_1_or_50_firings_and_macros(tenant_a):
    from tests.web.helpers import queries_of

    ticket = open_ticket(tenant_a)
    agent = signed_in(tenant_a.agent)
    url = f"/desk/tickets/{ticket.number}/"

    def add(first: int, count: int) -> None:
        for i in range(first, first + count):
            make_rule(tenant_a, f"Macro {i}", "manual",
                      actions=[{"type": "add_tags", "tags": [f"m{i}"]}])  # fmt: skip
            make_rule(tenant_a, f"Rule {i}", events=["comment.added"],
                      actions=[{"type": "add_tags", "tags": [f"r{i}"]}])  # fmt: skip
        services.comment_add(organization=tenant_a.org, actor=tenant_a.customer,
                             ticket=ticket, body="Hello")  # fmt: skip

    add(0, 1)
    queries_of(agent, url)
    one = queries_of(agent, url)
    add(1, 49)
    fifty = queries_of(agent, url)
    assert one == fifty


def test_the_row_editor_names_an_sla_policy_and_a_webhook_endpoint_by_id(tenant_a, settings):
    # Given an SLA policy and a webhook endpoint of the organization
    from tests.sla.test_services import make_policy
    from tests.webhooks.conftest import make_endpoint

    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = True
    policy = make_policy(tenant_a.org, priority="urgent")
    endpoint, _secret = make_endpoint(tenant_a, "http://127.0.0.1:9/hook")
    # When a manager saves a rule with both actions from the rows editor
    body = {**ROWS, "name": "Page and apply", "a_type": ["apply_sla", "call_webhook"],
            "a_value": [str(policy.id), str(endpoint.id)]}  # fmt: skip
    saved = signed_in(tenant_a.manager).post("/manage/rules/new", body)
    # Then the rule names them by id
    assert saved.status_code == 302, saved.content[:800]
    with tenant(tenant_a.org):
        rule = Rule.objects.get(name="Page and apply")
    assert rule.definition["actions"] == [
        {"type": "apply_sla", "policy": policy.id},
        {"type": "call_webhook", "endpoint": endpoint.id},
    ]


def test_the_row_editor_saves_groups_inside_the_main_match_and_shows_them_again(tenant_a):
    # Given a manager who puts two of three conditions in group A, matched by "any"
    manager = signed_in(tenant_a.manager)
    body = {
        **ROWS, "name": "VIP escalation",
        "c_kind": ["field", "field", "field"],
        "c_subject": ["ticket.priority", "ticket.tags", "requester.email_domain"],
        "c_op": ["is", "includes", "is"], "c_value": ["high", "vip", "vip.example"],
        "c_group": ["", "1", "1"], "c_business": ["", "", ""], "match_1": "any",
        "a_type": ["add_tags"], "a_value": ["escalated"],
    }  # fmt: skip
    # When the rule is saved
    saved = manager.post("/manage/rules/new", body)
    assert saved.status_code == 302, saved.content[:800]
    # Then its definition nests the group in the main match
    with tenant(tenant_a.org):
        rule = Rule.objects.get(name="VIP escalation")
    assert rule.definition["conditions"] == {"all": [
        {"field": "ticket.priority", "op": "is", "value": "high"},
        {"any": [{"field": "ticket.tags", "op": "includes", "value": ["vip"]},
                 {"field": "requester.email_domain", "op": "is", "value": "vip.example"}]},
    ]}  # fmt: skip
    # And it acts as written: high and tagged vip matches, high without either does not
    matched = open_ticket(tenant_a, priority="high", tags=["vip"])
    missed = open_ticket(tenant_a, priority="high")
    with tenant(tenant_a.org):
        assert "escalated" in Ticket.objects.get(pk=matched.pk).tags
        assert "escalated" not in Ticket.objects.get(pk=missed.pk).tags
    # And the editor shows the rows again, in their group, not as YAML
    page = manager.get(f"/manage/rules/{rule.id}/").content.decode()
    assert 'name="mode" value="yaml"' not in page
    assert page.count('<option value="1" selected>group A</option>') == 2
    assert 'name="match_1"' in page


def test_a_group_inside_a_group_is_edited_as_yaml(tenant_a):
    deep = {
        "all": [{"any": [{"all": [{"field": "ticket.priority", "op": "is", "value": "high"}]}]}]
    }
    rule = make_rule(tenant_a, "Deep", events=["ticket.created"], conditions=deep,
                     actions=[{"type": "add_tags", "tags": ["x"]}])  # fmt: skip
    page = signed_in(tenant_a.manager).get(f"/manage/rules/{rule.id}/").content.decode()
    assert 'name="mode" value="yaml"' in page
