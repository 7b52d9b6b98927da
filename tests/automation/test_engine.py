"""Event rules: conditions, actions through the services, order, loops, records."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import Team, User
from deskbase.automation import services as rules
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.sla import services as sla
from deskbase.tickets import services
from deskbase.tickets.models import Ticket, TicketHistory
from tests.automation.helpers import firings, make_rule
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

VIP = {"field": "requester.email_domain", "op": "is", "value": "vip.example"}


def update(world, ticket: Ticket, **changes) -> Ticket:
    return services.ticket_update(
        organization=world.org,
        actor=world.agent,
        ticket=ticket,
        version=ticket.version,
        **changes,
    )


def vip_customer(world) -> User:
    with tenant(world.org):
        return User.objects.create_user(
            "boss@vip.example", "pw-for-tests-1", organization=world.org, role="customer",
            full_name="Big Boss",
        )  # fmt: skip


def test_a_matching_rule_changes_the_ticket_through_the_services_and_says_why(tenant_a, app_role):
    # Given a rule escalating VIP tickets that are high
    make_rule(tenant_a, "Escalate VIP", events=["ticket.created", "ticket.updated"],
              conditions={"all": [VIP, {"field": "ticket.priority", "op": "is",
                                         "value": "high"}]},
              actions=[{"type": "set_priority", "priority": "urgent"}])  # fmt: skip
    # When an agent opens a high ticket for a VIP customer
    ticket = open_ticket(tenant_a, customer=vip_customer(tenant_a), priority="high")
    # Then the ticket is urgent (the caller's instance too), with a history row by the
    # rule's author, and the firing explains itself
    assert ticket.priority == "urgent"
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).priority == "urgent"
        row = TicketHistory.objects.filter(ticket_id=ticket.pk, field="priority").get()
    assert (row.old_value, row.new_value, row.actor_id) == ("high", "urgent", tenant_a.admin.id)
    (firing,) = firings(tenant_a)
    assert firing.outcome == "fired"
    assert firing.rule_version == 1
    assert firing.changes == ["set priority to urgent"]
    assert [m["text"] for m in firing.matched] == [
        "requester domain is vip.example", "priority was high",
    ]  # fmt: skip


def test_a_rule_that_does_not_match_does_nothing(tenant_a, app_role):
    make_rule(tenant_a, "Escalate VIP", events=["ticket.created"], conditions={"all": [VIP]},
              actions=[{"type": "set_priority", "priority": "urgent"}])  # fmt: skip
    ticket = open_ticket(tenant_a, priority="high")
    assert ticket.priority == "high"
    assert firings(tenant_a) == []


def test_change_conditions_are_not_state_conditions(tenant_a, app_role):
    # Given a rule on "priority changed to high" (not "priority is high")
    make_rule(tenant_a, "Tag raised", events=["ticket.updated"],
              conditions={"all": [{"changed": "ticket.priority", "to": "high"}]},
              actions=[{"type": "add_tags", "tags": ["raised"]}])  # fmt: skip
    ticket = open_ticket(tenant_a, priority="high")
    # When the subject changes on a ticket that is already high: no change of priority
    ticket = update(tenant_a, ticket, subject="Other")
    assert ticket.tags == []
    # When the priority goes low then high again
    ticket = update(tenant_a, ticket, priority="low")
    ticket = update(tenant_a, ticket, priority="high")
    assert ticket.tags == ["raised"]
    (firing,) = firings(tenant_a)
    assert firing.matched[0]["text"] == "priority changed from low to high"


def test_a_comment_by_the_customer_wakes_the_rule_and_one_by_staff_does_not(tenant_a, app_role):
    make_rule(tenant_a, "Customer wrote", events=["comment.added"],
              conditions={"all": [{"changed": "comment.added", "by": "customer"},
                                  {"field": "comment.body", "op": "contains",
                                   "value": "refund"}]},
              actions=[{"type": "add_tags", "tags": ["refund"]}])  # fmt: skip
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="About your refund")  # fmt: skip
    assert firings(tenant_a) == []
    services.comment_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=ticket,
                         body="I want a REFUND")  # fmt: skip
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).tags == ["refund"]


def flip(world, name: str, when: str, then: str):
    return make_rule(world, name, events=["ticket.updated"],
                     conditions={"all": [{"field": "ticket.priority", "op": "is", "value": when}]},
                     actions=[{"type": "set_priority", "priority": then}])  # fmt: skip


def test_two_rules_that_undo_each_other_stop_and_say_so(tenant_a, app_role):
    # Given A: high -> low, and B: low -> high
    flip(tenant_a, "A", "high", "low")
    flip(tenant_a, "B", "low", "high")
    ticket = open_ticket(tenant_a, priority="medium")
    # When an agent sets the priority to high
    ticket = update(tenant_a, ticket, priority="high")
    # Then A fired once, B fired once, and A's second match is recorded as skipped
    outcomes = sorted((f.depth, f.rule_name, f.outcome) for f in firings(tenant_a))
    assert outcomes == [(0, "A", "fired"), (1, "B", "fired"), (2, "A", "skipped")]
    assert ticket.priority == "high"


def test_changes_by_rules_nest_at_most_ten_deep(tenant_a, app_role):
    # Given a chain of 12 rules, each adding the tag that wakes the next
    for i in range(12):
        make_rule(tenant_a, f"step {i}", events=["ticket.updated"],
                  conditions={"all": [{"field": "ticket.tags", "op": "includes",
                                       "value": f"s{i}"}]},
                  actions=[{"type": "add_tags", "tags": [f"s{i + 1}"]}])  # fmt: skip
    ticket = open_ticket(tenant_a)
    # When the first tag is set
    ticket = update(tenant_a, ticket, tags=["s0"])
    # Then ten rules fired, the eleventh is recorded as capped, the twelfth never woke
    fired = [f for f in firings(tenant_a) if f.outcome == "fired"]
    capped = [f for f in firings(tenant_a) if f.outcome == "capped"]
    assert len(fired) == 10
    assert [f.rule_name for f in capped] == ["step 10"]
    assert "s10" in ticket.tags
    assert "s11" not in ticket.tags


def test_a_failing_action_is_recorded_and_the_write_stands(tenant_a, app_role):
    # Given a rule that sets a team, and the team is deleted afterwards
    with tenant(tenant_a.org):
        team = Team.objects.create(organization=tenant_a.org, name="Tier 2")
    make_rule(tenant_a, "To tier 2", events=["comment.added"],
              actions=[{"type": "set_team", "team": team.id},
                       {"type": "add_tags", "tags": ["seen"]}])  # fmt: skip
    with tenant(tenant_a.org):
        Team.objects.filter(pk=team.pk).delete()
    ticket = open_ticket(tenant_a)
    # When the customer replies
    comment = services.comment_add(organization=tenant_a.org, actor=tenant_a.customer,
                                   ticket=ticket, body="Hello?")  # fmt: skip
    # Then the reply is there, the other action applied, and the failure is recorded
    assert comment.pk is not None
    (firing,) = firings(tenant_a)
    assert firing.outcome == "fired"
    assert firing.changes == ["added tags seen"]
    assert len(firing.errors) == 1
    assert firing.errors[0].startswith("actions[0] (set_team)")


def test_a_reference_to_another_tenants_team_is_refused_naming_the_path(
    tenant_a, tenant_b, app_role
):
    with tenant(tenant_b.org):
        theirs = Team.objects.create(organization=tenant_b.org, name="Their team")
    with pytest.raises(ValidationFailed) as refused:
        make_rule(tenant_a, "Steal", events=["ticket.created"],
                  actions=[{"type": "add_tags", "tags": ["x"]},
                           {"type": "set_team", "team": theirs.id}])  # fmt: skip
    assert list(refused.value.errors) == ["actions[1].team"]


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({"events": ["ticket.created"], "conditions": {"all": [{"field": "ticket.priority",
          "op": "bigger", "value": "high"}]}, "actions": [{"type": "add_tags", "tags": ["x"]}]},
         "conditions.all[0].op"),
        ({"events": ["ticket.created"], "conditions": {"all": [{"field": "ticket.nope",
          "op": "is", "value": 1}]}, "actions": [{"type": "add_tags", "tags": ["x"]}]},
         "conditions.all[0].field"),
        ({"events": ["ticket.created"], "actions": [{"type": "explode"}]}, "actions[0].type"),
        ({"events": ["ticket.created"], "actions": [{"type": "set_priority", "priority": "x"}]},
         "actions[0].priority"),
        ({"events": ["ticket.created"], "conditions": {"all": [{"any": [{"all": [{"any": [
          VIP]}]}]}]}, "actions": [{"type": "add_tags", "tags": ["x"]}]},
         "conditions.all[0].any[0].all[0]"),
    ],
)  # fmt: skip
def test_bad_definitions_name_their_path(tenant_a, app_role, definition, path):
    with pytest.raises(ValidationFailed) as refused:
        make_rule(tenant_a, "Bad", **definition)
    assert list(refused.value.errors) == [path]


def test_rules_save_a_version_per_save_and_reorder(tenant_a, app_role):
    a = flip(tenant_a, "A", "high", "low")
    b = flip(tenant_a, "B", "low", "high")
    updated = rules.rule_update(organization=tenant_a.org, actor=tenant_a.admin, rule=a,
                                version=1, name="A2")  # fmt: skip
    assert updated.version == 2
    with tenant(tenant_a.org):
        assert list(updated.versions.order_by("version").values_list("version", "name")) == [
            (1, "A"), (2, "A2"),
        ]  # fmt: skip
    ordered = rules.rule_reorder(organization=tenant_a.org, actor=tenant_a.admin,
                                 activator="event", ids=[b.id, a.id])  # fmt: skip
    assert [(r.name, r.position) for r in ordered] == [("B", 1), ("A2", 2)]


def test_apply_sla_policy_sets_the_policy_and_its_due_times(tenant_a, tenant_b, app_role):
    from deskbase.sla import policies

    gold = policies.sla_policy_create(
        organization=tenant_a.org, actor=tenant_a.manager, name="Gold", priority="low",
        customer_tier="enterprise", first_response_minutes=30, resolution_minutes=120,
    )  # fmt: skip
    theirs = policies.sla_policy_create(
        organization=tenant_b.org, actor=tenant_b.manager, name="Theirs", priority="low",
        customer_tier="enterprise", first_response_minutes=30, resolution_minutes=120,
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        make_rule(tenant_a, "Theirs", events=["ticket.created"],
                  actions=[{"type": "apply_sla", "policy": theirs.id}])  # fmt: skip
    assert list(refused.value.errors) == ["actions[0].policy"]
    make_rule(tenant_a, "VIP gold", events=["ticket.created"], conditions={"all": [VIP]},
              actions=[{"type": "apply_sla", "policy": gold.id}])  # fmt: skip
    ticket = open_ticket(tenant_a, customer=vip_customer(tenant_a))
    assert ticket.sla_policy_id == gold.id
    assert ticket.resolution_due_at is not None
    with tenant(tenant_a.org):  # 120 minutes of the policy's time (business hours)
        due = sla.due_at(gold, start=ticket.created_at, minutes=120, calendar=None)
    assert ticket.resolution_due_at == due
    (firing,) = firings(tenant_a)
    assert firing.changes == ["applied SLA policy Gold"]
