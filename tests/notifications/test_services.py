"""Who is notified of what: the events, the choices, never one's own change, grouping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.core.tenancy import tenant
from deskbase.notifications import services as notifications
from deskbase.notifications.models import Reason
from deskbase.sla.services import mark_breaches
from deskbase.tickets import services
from deskbase.tickets.models import CommentKind, Ticket
from tests.notifications.helpers import agent, entries, team_of
from tests.sla.test_services import make_policy, started, utc
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def assign(world, ticket: Ticket, to, actor=None) -> Ticket:
    return services.ticket_assign(organization=world.org, actor=actor or world.manager,
                                  ticket=ticket, assignee=to)  # fmt: skip


def comment(world, ticket: Ticket, actor, body: str, kind: str = CommentKind.PUBLIC):
    return services.comment_add(organization=world.org, actor=actor, ticket=ticket, body=body,
                                kind=kind)  # fmt: skip


def test_assigning_notifies_the_assignee_and_not_the_one_who_assigned(tenant_a, app_role):
    # Given a ticket opened by the agent
    ticket = open_ticket(tenant_a)
    # When the manager assigns it to the agent
    assign(tenant_a, ticket, tenant_a.agent)
    # Then the agent has one entry, the manager none
    assert entries(tenant_a) == [(tenant_a.agent.id, ticket.id, "assigned", 1)]


def test_ones_own_change_notifies_nobody(tenant_a, app_role):
    # Given a ticket assigned to the agent, whose notifications are on for everything
    ticket = assign(tenant_a, open_ticket(tenant_a), tenant_a.agent)
    before = entries(tenant_a)
    # When the agent assigns it to themself again after unassigning, and reopens it
    assign(tenant_a, ticket, None, actor=tenant_a.agent)
    ticket = assign(tenant_a, Ticket(pk=ticket.pk, organization_id=tenant_a.org.id),
                    tenant_a.agent, actor=tenant_a.agent)  # fmt: skip
    # Then nothing new for anyone
    assert entries(tenant_a) == before


def test_customer_replies_group_into_one_entry_with_a_count(tenant_a, app_role):
    # Given the agent's ticket
    ticket = assign(tenant_a, open_ticket(tenant_a), tenant_a.agent)
    # When the customer writes twice in a row
    comment(tenant_a, ticket, tenant_a.customer, "Any news?")
    comment(tenant_a, ticket, tenant_a.customer, "Hello?")
    # Then the agent has one "customer replied" entry counting 2 (next to the assignment)
    assert entries(tenant_a, tenant_a.agent)[-1] == (tenant_a.agent.id, ticket.id,
                                                     "customer_replied", 3)  # fmt: skip
    # And a staff reply notifies no one
    comment(tenant_a, ticket, tenant_a.manager, "On it")
    assert entries(tenant_a, tenant_a.agent)[-1][3] == 3


def test_a_mention_in_an_internal_note_notifies_the_agent_named(tenant_a, tenant_b, app_role):
    # Given an agent named Dana Scully in tenant A and the same name in tenant B
    dana = agent(tenant_a, "dana@acme.test", "Dana Scully")
    agent(tenant_b, "dana@globex.test", "Dana Scully")
    ticket = open_ticket(tenant_a)
    # When the manager writes an internal note mentioning @dana and a public reply @agent
    comment(tenant_a, ticket, tenant_a.manager, "@dana please check", CommentKind.INTERNAL)
    comment(tenant_a, ticket, tenant_a.manager, "cc @agent", CommentKind.PUBLIC)
    # Then only tenant A's Dana is notified
    assert entries(tenant_a) == [(dana.id, ticket.id, "mentioned", 1)]
    assert entries(tenant_b) == []


def test_a_mention_of_another_organizations_agent_notifies_nobody(tenant_a, tenant_b, app_role):
    ticket = open_ticket(tenant_a)
    # When tenant A's note names tenant B's agent by their full address and name
    comment(tenant_a, ticket, tenant_a.manager,
            "@agent@globex.test and @GlobexAgent look", CommentKind.INTERNAL)  # fmt: skip
    # Then nobody anywhere is notified
    assert entries(tenant_a) == []
    assert entries(tenant_b) == []


def test_a_new_ticket_notifies_its_team_by_default_and_all_by_choice(tenant_a, app_role):
    # Given a team of the agent and Dana; Fox outside it, who chose "all"
    dana = agent(tenant_a, "dana@acme.test", "Dana Scully")
    fox = agent(tenant_a, "fox@acme.test", "Fox Mulder")
    team = team_of(tenant_a, "Hardware", tenant_a.agent, dana)
    notifications.preferences_save(organization=tenant_a.org, actor=fox, rows=[
        {"reason": "new_ticket", "scope": "all", "in_app": True, "mail": False}])  # fmt: skip
    # When the agent opens a ticket for the team
    ticket = open_ticket(tenant_a, team=team)
    # Then Dana and Fox are told, not the agent who opened it, nor the manager (scope teams)
    assert sorted(entries(tenant_a)) == sorted(
        [(dana.id, ticket.id, "new_ticket", 1), (fox.id, ticket.id, "new_ticket", 1)]
    )


def test_reopening_notifies_the_assignee(tenant_a, app_role):
    ticket = assign(tenant_a, open_ticket(tenant_a), tenant_a.agent, actor=tenant_a.agent)
    ticket = services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent,
                                           ticket=ticket, status="resolved")  # fmt: skip
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.manager,
                                  ticket=ticket, status="open")  # fmt: skip
    assert entries(tenant_a) == [(tenant_a.agent.id, ticket.id, "reopened", 1)]


def test_a_breach_found_by_the_pass_notifies_the_assignee_once(tenant_a, app_role):
    make_policy(tenant_a.org, first=60, resolution=480, business=False)
    now = utc(2025, 3, 3, 12)
    ticket = started(tenant_a.org, tenant_a.customer, created_at=now - timedelta(hours=2))
    with tenant(tenant_a.org):
        Ticket.objects.filter(pk=ticket.pk).update(assignee=tenant_a.agent)
    mark_breaches(organization=tenant_a.org, now=now)
    mark_breaches(organization=tenant_a.org, now=now + timedelta(minutes=1))
    assert entries(tenant_a) == [(tenant_a.agent.id, ticket.id, "sla_breached", 1)]


def test_turning_a_notification_off_stops_it(tenant_a, app_role):
    notifications.preferences_save(organization=tenant_a.org, actor=tenant_a.agent, rows=[
        {"reason": "assigned", "in_app": False, "mail": False}])  # fmt: skip
    assign(tenant_a, open_ticket(tenant_a), tenant_a.agent)
    assert entries(tenant_a) == []


@pytest.mark.parametrize("agents", [1, 20])
def test_the_recipients_of_an_event_cost_one_query(tenant_a, app_role, agents):
    # Given `agents` agents who each want every new ticket
    people = [agent(tenant_a, f"a{i}@acme.test", f"Agent {i}") for i in range(agents)]
    ticket = open_ticket(tenant_a)
    with tenant(tenant_a.org):
        from deskbase.notifications.models import Preference

        Preference.objects.bulk_create(
            Preference(organization=tenant_a.org, user=p, reason=Reason.REOPENED, scope="all")
            for p in people
        )
        # When one event notifies them
        with CaptureQueriesContext(connection) as queries:
            reached = notifications.notify(organization_id=tenant_a.org.id, ticket_id=ticket.id,
                                           reason=Reason.REOPENED, actor_id=None,
                                           event_ref="test")  # fmt: skip
    # Then all are reached with one query
    assert len(reached.recipients) == agents
    assert len(queries) == 1
