"""The demo data of `make run`: a healthy desk with a few problems, made through the
services, with texts that belong together, in its own tenant."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import F, Max, Min
from django.utils import timezone

from deskbase.analytics import refresh, selectors
from deskbase.core.tenancy import tenant
from deskbase.demo import DEMO_LOGINS, load_demo
from deskbase.demo.scenarios import GENERIC_TEXTS, scenario_for
from deskbase.organizations.models import Organization
from deskbase.sla.models import SlaEvent
from deskbase.tickets import canned
from deskbase.tickets.models import (
    CannedResponse,
    CsatResponse,
    Ticket,
    TicketComment,
    TicketHistory,
)

pytestmark = pytest.mark.django_db

ACTIVE = ("new", "open", "pending")


def test_make_run_demo_is_a_healthy_desk_with_a_few_problems(request):
    # Given the demo as `make run` loads it (the default size), and the analytics
    # refreshed as `deskbase analytics refresh` does
    started = timezone.now()
    assert load_demo() is True
    assert load_demo() is False  # never twice
    refresh.refresh_views()
    org = Organization.objects.get(slug="demo")
    # When it is read as the server reads it
    request.getfixturevalue("app_role")
    # Then (one load, several views of it: loading takes a few seconds)
    failures = []
    for check in (
        check_six_weeks_of_a_healthy_desk, check_history_and_updated_at_agree,
        check_every_ticket_tells_one_story, check_canned_responses,
        check_the_dashboard_reads_it_as_healthy,
    ):  # fmt: skip
        try:
            check(org, started)
        except AssertionError as error:
            failures.append(f"{check.__name__}: {error}")
    assert not failures, "\n".join(failures)


def check_six_weeks_of_a_healthy_desk(org, started):
    with tenant(org):
        tickets = Ticket.objects.all()
        # About 300 tickets, opened over the last six weeks
        assert 280 <= tickets.count() <= 320
        span = tickets.aggregate(first=Min("created_at"), last=Max("created_at"))
        assert started - timedelta(days=43) <= span["first"] <= started - timedelta(days=38)
        assert span["last"] >= started - timedelta(days=1)
        # The mix of a healthy desk: most work finished, some in hand, none forgotten for long
        statuses = Counter(tickets.values_list("status", flat=True))
        total = sum(statuses.values())
        assert set(statuses) >= {"new", "open", "pending", "resolved", "closed"}
        assert (statuses["resolved"] + statuses["closed"]) / total >= 0.7
        assert 0.04 <= sum(statuses[s] for s in ACTIVE) / total <= 0.25
        # A handful of open tickets are breaching their SLA right now, not hundreds
        breached_now = set(tickets.filter(status__in=ACTIVE, sla_breach=True).values_list("id"))
        assert 2 <= len(breached_now) <= 8
        # Compliance of the settled SLAs between 80 % and 95 %
        settled = SlaEvent.objects.filter(kind__in=("met", "breached")).values("ticket")
        breached = SlaEvent.objects.filter(kind="breached").values("ticket")
        n_settled = tickets.filter(id__in=settled).count()
        n_breached = tickets.filter(id__in=breached).count()
        assert n_settled >= 250
        assert 80 <= 100 * (n_settled - n_breached) / n_settled <= 95
        # updated_at is spread over the weeks: only what the demo touches now (the breach
        # check flags the late tickets) was updated during the load
        touched_now = set(tickets.filter(updated_at__gte=started).values_list("id"))
        assert touched_now <= breached_now
        assert tickets.dates("updated_at", "day").count() >= 25
        # CSAT on some finished tickets, mostly good
        ratings = list(CsatResponse.objects.values_list("rating", flat=True))
        assert 40 <= len(ratings) <= 0.7 * (statuses["resolved"] + statuses["closed"])
        assert 3.8 <= sum(ratings) / len(ratings) <= 4.8
        assert min(ratings) <= 2


def check_history_and_updated_at_agree(org, started):
    with tenant(org):
        last_change = dict(
            TicketHistory.objects.values("ticket").annotate(at=Max("created_at"))
            .values_list("ticket", "at")
        )  # fmt: skip
        last_comment = dict(
            TicketComment.objects.values("ticket").annotate(at=Max("created_at"))
            .values_list("ticket", "at")
        )  # fmt: skip
        first_change = dict(
            TicketHistory.objects.values("ticket").annotate(at=Min("created_at"))
            .values_list("ticket", "at")
        )  # fmt: skip
        for ticket in Ticket.objects.all():
            # Opened when its history says, last touched when its last change or reply was
            assert first_change[ticket.id] == ticket.created_at, ticket.subject
            latest = max(last_change[ticket.id], last_comment.get(ticket.id, ticket.created_at))
            if latest < started:
                assert ticket.updated_at == latest, ticket.number
            else:
                # Touched while loading (the breach check): history says the transaction's
                # start, updated_at the clock time of the write, which is later.
                assert ticket.updated_at >= latest, ticket.number
            for at in (ticket.first_response_at, ticket.resolved_at, ticket.closed_at):
                assert at is None or ticket.created_at <= at <= ticket.updated_at
        # No SLA event, reply or rating from the future or before its ticket
        assert not SlaEvent.objects.filter(created_at__gt=timezone.now()).exists()
        assert not TicketComment.objects.filter(created_at__lt=F("ticket__created_at")).exists()
        assert not CsatResponse.objects.filter(created_at__lt=F("ticket__resolved_at")).exists()


def check_every_ticket_tells_one_story(org, started):
    with tenant(org):
        tickets = list(Ticket.objects.select_related("customer", "category"))
        opened_by = dict(
            TicketHistory.objects.filter(field="created").values_list("ticket", "actor")
        )
        comments = TicketComment.objects.values_list("ticket", "kind", "author__role", "body_text")
        by_ticket: dict[int, list[tuple[str, str, str]]] = {}
        for ticket_id, kind, role, body in comments:
            by_ticket.setdefault(ticket_id, []).append((kind, role, body))
        stories = set()
        for ticket in tickets:
            # The subject names a scenario whose description the ticket carries
            scenario = scenario_for(ticket.subject)
            assert scenario is not None, ticket.subject
            stories.add(scenario.key)
            assert scenario.description_for(ticket.subject) in ticket.description
            assert ticket.category is None or ticket.category.name == scenario.category
            # Each reply and note comes from the same scenario (or is a generic courtesy)
            texts = scenario.texts() + GENERIC_TEXTS
            for kind, role, body in by_ticket.get(ticket.id, []):
                assert any(text in body for text in texts), (ticket.subject, body)
                assert kind == "public" or role != "customer"  # notes are the agents'
                if role == "customer":  # and the customer says what a customer says
                    assert scenario.description_for(ticket.subject) not in body
            # Customers open their own tickets; agents open them only for a phone call
            if ticket.channel == "phone":
                assert opened_by[ticket.id] != ticket.customer_id
            else:
                assert opened_by[ticket.id] == ticket.customer_id, ticket.channel
        assert len(stories) >= 12
        categories = {scenario_for(t.subject).category for t in tickets}
        assert {"Billing", "Login", "API & webhooks", "Bugs", "Feature requests"} <= categories
        channels = Counter(t.channel for t in tickets)
        assert channels["phone"] < channels["email"]
        assert channels["portal"] > 0


def check_canned_responses(org, started):
    agent_login = next(login for login in DEMO_LOGINS if login.role == "agent")
    with tenant(org):
        agent = org_user(org, agent_login.email)
        usable = canned.canned_responses_for(organization=org, actor=agent)
        shared = [c for c in usable if c.owner_id is None]
        personal = [c for c in usable if c.owner_id == agent.id]
        assert len(shared) >= 4
        assert len(personal) >= 1
        bodies = " ".join(c.body for c in usable)
        assert "{{ customer.name }}" in bodies
        assert "{{ organization.name }}" in bodies
        for response in usable:
            canned.check_placeholders(response.body)
        # Agents have used them on tickets
        assert CannedResponse.objects.filter(usage_count__gt=0).exists()


def org_user(org, email):
    from deskbase.accounts.models import User

    return User.objects.get(organization=org, email=email)


def check_the_dashboard_reads_it_as_healthy(org, started):
    today = selectors.local_today(org)
    filters = selectors.filters_for(org, start=today - timedelta(days=44), end=today)
    board = selectors.dashboard(organization=org, filters=filters)
    assert board["refreshed_at"] is not None
    assert 280 <= board["tickets"] <= 320
    assert 80 <= board["sla_compliance_pct"] <= 95
    assert board["csat"]["count"] >= 40
    assert board["csat"]["average"] >= 3.8
    assert board["first_response_avg_seconds"] is not None
    sla = selectors.sla_performance(organization=org, filters=filters)
    assert 80 <= sla["sla_compliance_pct"] <= 95
    live = selectors.live_numbers(organization=org)
    assert 2 <= live["sla_breached_now"] <= 8
    trends = selectors.ticket_trends(
        organization=org, filters=selectors.trends_filters(org, start=filters.start, end=today)
    )
    assert sum(1 for day in trends["days"] if day["created"]) >= 30


def test_demo_keeps_its_tenants_apart_and_its_logins(client, request):
    assert load_demo(tickets=40) is True
    demo = Organization.objects.get(slug="demo")
    other = Organization.objects.get(slug="other")
    request.getfixturevalue("app_role")
    with tenant(other):
        other_tickets = Ticket.objects.count()
    with tenant(demo):
        assert Ticket.objects.count() == 40
        assert Ticket.objects.filter(organization=other).count() == 0
    assert other_tickets > 0
    for login in DEMO_LOGINS:
        response = client.post(
            "/login/",
            {"organization": "demo", "username": login.email, "password": login.password},
        )
        assert response.status_code == 302, login.role
        assert other.name not in client.get("/").content.decode()
        client.logout()
