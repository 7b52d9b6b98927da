"""The seven views, read through the panels, against a recount of the same tickets.

Given a scenario in tenant A (America/New_York) and another in tenant B, when the views
are refreshed, then every panel of A equals the recount of A's live tickets: soft-deleted
tickets left out, days cut at A's local midnight, nothing of B.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import connection

from deskbase.accounts.models import Role, User
from deskbase.analytics import refresh, selectors
from tests.analytics.scenario import Recount, build, local_at, mean, pct
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenarios(tenant_a, tenant_b):
    a = build(tenant_a)
    b = build(tenant_b, tz="Asia/Kolkata", days_ago=9)
    refresh.refresh_views()
    return a, b


def _range(scenario, days: int = 5):
    org = scenario.world.org
    return selectors.filters_for(org, start=scenario.day, end=scenario.day + timedelta(days=days))


def test_every_view_refreshes_concurrently_and_is_recorded(scenarios):
    # When the views are refreshed again (they are populated now)
    done = refresh.refresh_views(progress=lambda line: None)
    # Then all seven went CONCURRENTLY, and each refresh is in the log with its time
    assert [r.view for r in done] == list(refresh.VIEWS)
    assert all(r.concurrently and r.duration_ms >= 0 for r in done)
    last = refresh.last_refreshes()
    assert set(last) == set(refresh.VIEWS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname = ANY(%s) AND indexdef LIKE %s",
            [[f"{v}_key" for v in refresh.VIEWS], "CREATE UNIQUE INDEX%"],
        )
        assert cursor.fetchone()[0] == 7


def test_dashboard_equals_the_recount_without_deleted_tickets(scenarios):
    a, _ = scenarios
    filters = _range(a)
    # When the dashboard is read for A's scenario days
    panel = selectors.dashboard(organization=a.world.org, filters=filters)
    # Then each number is the recount of A's live tickets opened on those local days
    recount = Recount(a.world.org)
    expected = recount.ticket_metrics(recount.opened_in(filters.start, filters.end))
    got = {key: panel[key] for key in expected}
    assert got == expected
    assert panel["tickets"] == 6  # not the deleted one, not the one opened today
    assert panel["refreshed_at"] is not None


def test_local_midnight_splits_the_days(scenarios):
    a, _ = scenarios
    org = a.world.org
    late, early = a.tickets["late"], a.tickets["early"]
    # Given two tickets opened 23:30 and 00:30 New York time: one UTC day, two local days
    assert late.created_at.date() == early.created_at.date()
    # Then each local day's dashboard holds exactly its own ticket
    for offset, ticket in ((0, late), (1, early)):
        day = a.day + timedelta(days=offset)
        filters = selectors.filters_for(org, start=day, end=day, channel=ticket.channel)
        panel = selectors.dashboard(organization=org, filters=filters)
        assert panel["tickets"] == 1, (offset, panel)


@pytest.mark.parametrize(
    ("dimension", "attribute"),
    [("team", "team_id"), ("agent", "assignee_id"), ("channel", "channel"),
     ("category", "category_id")],
)  # fmt: skip
def test_dashboard_filters_equal_the_recount(scenarios, dimension, attribute):
    a, _ = scenarios
    values = {getattr(t, attribute) for t in a.tickets.values()} - {None}
    recount = Recount(a.world.org)
    base = _range(a)
    for value in values:
        filters = selectors.filters_for(
            a.world.org, start=base.start, end=base.end, **{dimension: value}
        )
        panel = selectors.dashboard(organization=a.world.org, filters=filters)
        group = recount.opened_in(
            base.start, base.end, lambda t, v=value: getattr(t, attribute) == v
        )
        expected = recount.ticket_metrics(group)
        assert {key: panel[key] for key in expected} == expected, (dimension, value)


def test_channels_and_categories_equal_the_recount(scenarios):
    a, _ = scenarios
    filters = _range(a)
    recount = Recount(a.world.org)
    channels = selectors.channel_performance(organization=a.world.org, filters=filters)
    got = {row["channel"]: row for row in channels["channels"]}
    opened = recount.opened_in(filters.start, filters.end)
    assert set(got) == {t.channel for t in opened}
    for channel, row in got.items():
        expected = recount.ticket_metrics(t for t in opened if t.channel == channel)
        assert {key: row[key] for key in expected} == expected
    categories = selectors.category_performance(organization=a.world.org, filters=filters)
    got = {row["category_id"]: row for row in categories["categories"]}
    assert set(got) == {t.category_id for t in opened}
    assert got[a.category.id]["name"] == "Billing"
    for category, row in got.items():
        expected = recount.ticket_metrics(t for t in opened if t.category_id == category)
        assert {key: row[key] for key in expected} == expected


def test_customers_equal_the_recount(scenarios):
    a, _ = scenarios
    filters = _range(a)
    recount = Recount(a.world.org)
    panel = selectors.customer_stats(organization=a.world.org, filters=filters)
    opened = recount.opened_in(filters.start, filters.end)
    assert [row["customer_id"] for row in panel["customers"]] == [a.world.customer.id]
    expected = recount.ticket_metrics(opened)
    row = panel["customers"][0]
    assert {key: row[key] for key in expected} == expected


def test_top_customers_rank_by_tickets_then_id_and_keep_the_limit(scenarios):
    a, b = scenarios
    org = a.world.org
    # Given three more customers of A opening 3, 2 and 2 tickets on the scenario's days
    # (the two with 2 tie), over two channels, and a customer of B opening 5
    extra = [
        User.objects.create_user(f"c{n}@acme.test", "pw-for-tests-1", organization=org,
                                 role=Role.CUSTOMER, full_name=f"Customer {n}")
        for n in range(3)
    ]  # fmt: skip
    for customer, count in zip(extra, (3, 2, 2), strict=True):
        for n in range(count):
            open_ticket(a.world, customer=customer, channel=("email", "chat")[n % 2],
                        at=local_at(org, a.day + timedelta(days=n), 10))  # fmt: skip
    for n in range(5):
        open_ticket(b.world, customer=b.world.customer, at=local_at(b.world.org, b.day, 9 + n))
    refresh.refresh_views()
    filters = _range(a)
    recount = Recount(org)
    opened = recount.opened_in(filters.start, filters.end)
    per_customer = defaultdict(list)
    for t in opened:
        per_customer[t.customer_id].append(t)
    ranked = sorted(per_customer, key=lambda c: (-len(per_customer[c]), c))
    # When the panel is read with a limit of 3, unfiltered and for one channel
    panel = selectors.customer_stats(organization=org, filters=filters, limit=3)
    # Then the customers are the recount's first three (ties by id), each with its
    # own metrics, and nothing of B's customer
    assert [row["customer_id"] for row in panel["customers"]] == ranked[:3]
    for row in panel["customers"]:
        expected = recount.ticket_metrics(per_customer[row["customer_id"]])
        assert {key: row[key] for key in expected} == expected
    assert panel["customers"][0]["name"] in {u.full_name for u in [a.world.customer, *extra]}
    email = selectors.filters_for(org, start=filters.start, end=filters.end, channel="email")
    by_email = selectors.customer_stats(organization=org, filters=email, limit=100)
    counts = {c: sum(t.channel == "email" for t in ts) for c, ts in per_customer.items()}
    expected_order = sorted((c for c in counts if counts[c]), key=lambda c: (-counts[c], c))
    assert [row["customer_id"] for row in by_email["customers"]] == expected_order
    assert [row["tickets"] for row in by_email["customers"]] == [counts[c] for c in expected_order]


def test_agent_performance_equals_the_recount(scenarios):
    a, _ = scenarios
    filters = _range(a)
    recount = Recount(a.world.org)
    panel = selectors.agent_performance(organization=a.world.org, filters=filters)
    in_range = lambda at: filters.start <= recount.day(at) <= filters.end  # noqa: E731
    handled = defaultdict(list)
    for t in recount.tickets:
        if recount.resolved(t) and t.assignee_id and in_range(t.resolved_at):
            handled[t.assignee_id].append(t)
    effort = defaultdict(lambda: {"public": 0, "internal": 0})
    for c in recount.comments:
        if (
            c.ticket_id in recount.live_ids
            and c.author.role != "customer"
            and in_range(c.created_at)
        ):
            effort[c.author_id][c.kind] += 1
    got = {row["agent_id"]: row for row in panel["agents"]}
    assert set(got) == set(handled) | set(effort)
    for agent, row in got.items():
        tickets = handled[agent]
        assert row["handled"] == len(tickets)
        assert row["replies"] == effort[agent]["public"]
        assert row["notes"] == effort[agent]["internal"]
        assert row["effort"] == row["replies"] + row["notes"]
        assert row["resolution_avg_seconds"] == mean(
            [(t.resolved_at - t.created_at).total_seconds() for t in tickets]
        )
        ratings = [t.satisfaction for t in tickets if t.satisfaction]
        assert row["csat_count"] == len(ratings)


def test_sla_performance_equals_the_recount_in_calendar_and_business_time(scenarios):
    a, _ = scenarios
    filters = _range(a)
    recount = Recount(a.world.org)
    panel = selectors.sla_performance(organization=a.world.org, filters=filters)
    group = recount.opened_in(filters.start, filters.end, lambda t: t.sla_policy_id is not None)
    assert panel["tickets"] == len(group) > 0
    for target in ("first_response", "resolution"):
        met = [t for t in group if ("met", target) in recount.outcomes[t.id]
               and ("breached", target) not in recount.outcomes[t.id]]  # fmt: skip
        breached = [t for t in group if ("breached", target) in recount.outcomes[t.id]]
        assert panel[target]["met"] == len(met)
        assert panel[target]["breached"] == len(breached)
        assert panel[target]["compliance_pct"] == pct(len(met), len(met) + len(breached))
    answered = [t for t in group if t.first_response_at]
    assert panel["first_response"]["avg_seconds"] == mean(
        [(t.first_response_at - t.created_at).total_seconds() for t in answered]
    )
    assert panel["first_response"]["avg_business_seconds"] == mean(
        [recount.business_seconds(t.created_at, t.first_response_at) for t in answered]
    )
    resolved = [t for t in group if recount.resolved(t)]
    assert panel["resolution"]["avg_business_seconds"] == mean(
        [recount.business_seconds(t.created_at, t.resolved_at) for t in resolved]
    )
    expected = recount.ticket_metrics(group)["sla_compliance_pct"]
    assert panel["sla_compliance_pct"] == expected


def test_trends_count_each_event_on_its_local_day(scenarios):
    a, _ = scenarios
    org = a.world.org
    filters = selectors.trends_filters(org)
    panel = selectors.ticket_trends(organization=org, filters=filters)
    recount = Recount(org)
    expected = defaultdict(lambda: {"created": 0, "resolved": 0, "closed": 0, "reopened": 0})
    for t in recount.tickets:
        expected[recount.day(t.created_at)]["created"] += 1
        if recount.resolved(t):
            expected[recount.day(t.resolved_at)]["resolved"] += 1
        if t.status == "closed" and t.closed_at:
            expected[recount.day(t.closed_at)]["closed"] += 1
    for h in recount.reopens:
        if h.ticket_id in recount.live_ids:
            expected[recount.day(h.created_at)]["reopened"] += 1
    assert len(panel["days"]) == 90
    for row in panel["days"]:
        counts = {k: row[k] for k in ("created", "resolved", "closed", "reopened")}
        assert counts == expected.get(row["day"], dict.fromkeys(counts, 0)), row["day"]
    assert sum(row["reopened"] for row in panel["days"]) == 1


def test_no_panel_shows_another_tenant(scenarios):
    a, b = scenarios
    # Given tenant B's own numbers
    b_panel = selectors.dashboard(organization=b.world.org, filters=_range(b))
    assert b_panel["tickets"] > 0
    # When A filters by B's team or B's agent, it sees nothing
    for dimension, value in (("team", b.team.id), ("agent", b.world.agent.id),
                             ("category", b.category.id)):  # fmt: skip
        filters = selectors.filters_for(
            a.world.org, start=a.day - timedelta(days=5), end=a.day + timedelta(days=5),
            **{dimension: value},
        )  # fmt: skip
        assert selectors.dashboard(organization=a.world.org, filters=filters)["tickets"] == 0
    agents = selectors.agent_performance(organization=a.world.org, filters=_range(a))
    assert b.world.agent.id not in {row["agent_id"] for row in agents["agents"]}


def test_a_range_is_checked():
    from deskbase.core.errors import ValidationFailed
    from deskbase.organizations.models import Organization

    org = Organization(id=1, timezone="UTC")
    today = selectors.local_today(org)
    with pytest.raises(ValidationFailed):
        selectors.filters_for(org, start=today, end=today - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        selectors.trends_filters(org, start=today - timedelta(days=120))
    assert pct(1, 0) is None
