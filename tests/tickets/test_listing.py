"""The API's list in SQL (tickets.listing) against the ORM's (selectors.ticket_list).

Given tickets of every status, priority, channel, assignee, team, category, tag and
SLA state in tenant A (some deleted), and tickets in tenant B, when both lists are
paged through with every filter and every sort, then they return the same tickets
in the same order, page for page, and the rows hold what the models hold.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deskbase.accounts import services as people
from deskbase.accounts.services import user_create
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets import listing, selectors, services
from deskbase.tickets.models import Category, Ticket
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

PRIORITIES = ("low", "medium", "high", "urgent")
CHANNELS = ("email", "web", "portal", "chat", "phone", "api")


@pytest.fixture
def desk(tenant_a, tenant_b, request):
    org, agent = tenant_a.org, tenant_a.agent
    team = people.team_create(organization=org, actor=tenant_a.admin, name="Tier 1")
    with tenant(org):
        category = Category.objects.create(organization=org, name="Billing")
    other = user_create(organization=org, actor=None, email="other@acme.test")
    start = timezone.now() - timedelta(days=20)
    tickets = []
    for n in range(36):
        ticket = open_ticket(
            tenant_a, subject=f"Ticket {n}", priority=PRIORITIES[n % 4],
            channel=CHANNELS[n % 6], customer=(tenant_a.customer, other)[n % 2],
            team=team if n % 3 == 0 else None, category=category if n % 4 == 1 else None,
            tags=["vip"] if n % 5 == 0 else [], custom_fields={"n": n},
            assignee=agent if n % 3 == 1 else None, at=start + timedelta(hours=7 * n),
        )  # fmt: skip
        if n % 6 == 2:
            ticket = services.ticket_change_status(organization=org, actor=agent,
                                                   ticket=ticket, status="pending")  # fmt: skip
        if n % 7 == 3:
            ticket = services.ticket_change_status(organization=org, actor=agent,
                                                   ticket=ticket, status="resolved")  # fmt: skip
        tickets.append(ticket)
    now = timezone.now()
    with tenant(org):
        # Equal update times (a bulk change): the id breaks the tie
        Ticket.objects.filter(pk__in=[t.pk for t in tickets[:6]]).update(updated_at=now)
        # SLA states: breached, due soon (at risk), due later, paused
        Ticket.objects.filter(pk__in=[t.pk for t in tickets[6:9]]).update(sla_breach=True)
        Ticket.objects.filter(pk__in=[t.pk for t in tickets[9:14]]).update(
            first_response_due_at=now + timedelta(minutes=20),
            resolution_due_at=now + timedelta(hours=5),
        )
        Ticket.objects.filter(pk__in=[t.pk for t in tickets[14:18]]).update(
            resolution_due_at=now + timedelta(minutes=30)
        )
        Ticket.objects.filter(pk=tickets[15].pk).update(sla_paused_at=now)
    for ticket in tickets[30:33]:
        services.ticket_soft_delete(organization=org, actor=tenant_a.manager, ticket=ticket)
    for n in range(4):
        open_ticket(tenant_b, subject=f"B {n}", tags=["vip"])
    request.getfixturevalue("app_role")
    return {"org": org, "agent": agent, "customer": tenant_a.customer, "team": team,
            "category": category, "other": other, "start": start}  # fmt: skip


def _filter_cases(desk) -> list[selectors.TicketFilters]:
    f = selectors.TicketFilters
    start = desk["start"]
    return [
        f(), f(status=("new", "open", "pending")), f(status=("resolved",)),
        f(status=("nonsense",)), f(priority=("high", "urgent")),
        f(assignee="me"), f(assignee="unassigned"), f(assignee=str(desk["agent"].id)),
        f(team_id=desk["team"].id), f(customer_id=desk["other"].id),
        f(category_id=desk["category"].id), f(channel="email"), f(channel="fax"),
        f(tag="vip"), f(tag=" VIP "), f(sla="breached"), f(sla="at_risk"),
        f(created_after=start + timedelta(days=3), created_before=start + timedelta(days=8)),
        f(updated_after=start + timedelta(days=5)),
        f(status=("open", "new"), priority=("low",), assignee="unassigned"),
        f(tag="vip", status=("new", "open"), priority=("low", "urgent")),
        f(tag="vip", customer_id=desk["other"].id), f(tag="nobody-has-this"),
    ]  # fmt: skip


def _pages(func, **kwargs) -> list[list[int]]:
    pages, cursor = [], None
    for _ in range(50):
        items, cursor = func(after=cursor, **kwargs)
        pages.append([item["id"] if isinstance(item, dict) else item.id for item in items])
        if cursor is None:
            return pages
    raise AssertionError("the pages never ended")


def _orm(**kwargs):
    page = selectors.ticket_list(**kwargs)
    return page.items, page.next_cursor


@pytest.mark.parametrize("sort", selectors.SORTS)
def test_every_filter_and_sort_pages_like_the_orm(desk, sort):
    for actor in (desk["agent"], desk["customer"]):
        for filters in _filter_cases(desk):
            kwargs = {"organization": desk["org"], "actor": actor, "filters": filters,
                      "sort": sort, "limit": 4}  # fmt: skip
            expected = _pages(_orm, **kwargs)
            got = _pages(listing.ticket_list_rows, **kwargs)
            assert got == expected, (actor.role, filters)


def test_rows_hold_what_the_models_hold(desk):
    org, agent = desk["org"], desk["agent"]
    rows, _ = listing.ticket_list_rows(organization=org, actor=agent, limit=100)
    models = selectors.ticket_list(organization=org, actor=agent, limit=100).items
    assert len(rows) == 33  # 36 made, 3 deleted; none of B's
    for row, ticket in zip(rows, models, strict=True):
        for name in listing.ROW_FIELDS:
            if name not in ("priority_rank", "sla_key"):
                assert row[name] == getattr(ticket, name), name
        for name, fields in listing.ROW_RELATED.items():
            related = getattr(ticket, name)
            expected = None if related is None else {f: getattr(related, f) for f in fields}
            assert row[name] == expected, name
    assert {row["custom_fields"]["n"] for row in rows} <= set(range(36))


def test_the_query_count_is_the_same_for_1_and_50_rows(desk):
    counts = []
    for limit in (1, 50):
        with CaptureQueriesContext(connection) as captured:
            listing.ticket_list_rows(organization=desk["org"], actor=desk["agent"], limit=limit)
        counts.append(len(captured))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"sort": "nope"}, "sort"), ({"after": "!!"}, "cursor"),
     ({"filters": selectors.TicketFilters(assignee="x")}, "assignee"),
     ({"filters": selectors.TicketFilters(sla="late")}, "sla")],
)  # fmt: skip
def test_bad_input_is_a_field_error(desk, kwargs, field):
    with pytest.raises(ValidationFailed) as error:
        listing.ticket_list_rows(organization=desk["org"], actor=desk["agent"], **kwargs)
    assert error.value.field == field


def test_hostile_text_is_a_parameter_not_sql(desk):
    # A tag and an unknown status reach the database as values, never as SQL text
    hostile = "x') OR true; --"
    filters = selectors.TicketFilters(tag=hostile, status=(hostile,))
    rows, cursor = listing.ticket_list_rows(organization=desk["org"], actor=desk["agent"],
                                            filters=filters)  # fmt: skip
    assert (rows, cursor) == ([], None)
