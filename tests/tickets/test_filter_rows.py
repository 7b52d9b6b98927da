"""tickets_tickettag and tickets_ticketfieldvalue follow the tickets (migrations 0016, 0017).

Given tagged tickets in two organizations, when tickets are created, re-tagged,
trashed, restored, merged or deleted, then the side table holds exactly the tags of
the tickets not in the trash; each organization sees only its own rows (application
role, row-level security on); and the tag filters (ORM, SQL, saved-view counts)
find the same tickets as the tags column itself.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from deskbase.core.tenancy import tenant
from deskbase.savedviews.filters import filters_from
from deskbase.savedviews.models import SavedView
from deskbase.savedviews.selectors import view_counts
from deskbase.tickets import listing, selectors, services
from deskbase.tickets.models import Ticket, TicketFieldValue, TicketTag
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def _rows(org) -> set[tuple[int, str]]:
    with tenant(org):
        return set(TicketTag.objects.values_list("ticket_id", "tag"))


def _expected(org) -> set[tuple[int, str]]:
    """What the table must hold: every live ticket's tags, from the tickets themselves."""
    with tenant(org):
        live = Ticket.all_objects.filter(organization=org, deleted_at__isnull=True)
        return {(t.id, tag) for t in live for tag in t.tags}


def _retag(world, ticket: Ticket, tags: list[str]) -> Ticket:
    ticket.refresh_from_db()
    return services.ticket_update(
        organization=world.org, actor=world.agent, ticket=ticket, version=ticket.version, tags=tags
    )


def test_a_new_ticket_adds_its_tags_and_an_untagged_one_none(tenant_a):
    tagged = open_ticket(tenant_a, tags=["VIP", "billing", "vip"])
    untagged = open_ticket(tenant_a)

    assert _rows(tenant_a.org) == {(tagged.id, "vip"), (tagged.id, "billing")}
    assert untagged.id not in {ticket_id for ticket_id, _ in _rows(tenant_a.org)}


def test_adding_and_removing_tags_follows_the_ticket(tenant_a):
    ticket = open_ticket(tenant_a, tags=["vip", "billing"])

    _retag(tenant_a, ticket, ["billing", "refund"])
    assert _rows(tenant_a.org) == {(ticket.id, "billing"), (ticket.id, "refund")}

    _retag(tenant_a, ticket, [])
    assert _rows(tenant_a.org) == set()


def test_a_change_of_other_fields_leaves_the_rows(tenant_a):
    ticket = open_ticket(tenant_a, tags=["vip"])
    ticket = services.ticket_change_status(
        organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket, status="pending"
    )
    assert _rows(tenant_a.org) == {(ticket.id, "vip")}


def test_trash_removes_the_rows_and_restore_brings_them_back(tenant_a):
    ticket = open_ticket(tenant_a, tags=["vip", "billing"])
    kept = open_ticket(tenant_a, tags=["vip"])

    services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket)
    assert _rows(tenant_a.org) == {(kept.id, "vip")}

    services.ticket_restore(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket)
    assert _rows(tenant_a.org) == _expected(tenant_a.org)
    assert (ticket.id, "billing") in _rows(tenant_a.org)


def test_a_hard_delete_removes_the_rows(tenant_a):
    ticket = open_ticket(tenant_a, tags=["vip"])
    kept = open_ticket(tenant_a, tags=["vip"])
    with tenant(tenant_a.org):
        Ticket.all_objects.filter(pk=ticket.pk).delete()
    assert _rows(tenant_a.org) == {(kept.id, "vip")}


def test_a_merge_gives_the_target_the_source_tags(tenant_a):
    source = open_ticket(tenant_a, tags=["refund"])
    target = open_ticket(tenant_a, tags=["vip"])

    services.ticket_merge(
        organization=tenant_a.org, actor=tenant_a.agent, source=source, target=target
    )

    assert {(target.id, "vip"), (target.id, "refund")} <= _rows(tenant_a.org)
    assert _rows(tenant_a.org) == _expected(tenant_a.org)


def test_a_bulk_update_of_many_tickets_keeps_every_row(tenant_a):
    tickets = [open_ticket(tenant_a, tags=["vip"] if n % 2 else []) for n in range(6)]
    with tenant(tenant_a.org):
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(tags=["escalated", "vip"])
    assert _rows(tenant_a.org) == {(t.id, tag) for t in tickets for tag in ("escalated", "vip")}


def test_each_organization_sees_only_its_own_rows(tenant_a, tenant_b, app_role):
    mine = open_ticket(tenant_a, tags=["vip"])
    theirs = open_ticket(tenant_b, tags=["vip"])

    with tenant(tenant_a.org, tenant_a.agent):
        seen = set(TicketTag.objects.values_list("ticket_id", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("SELECT ticket_id FROM tickets_tickettag WHERE tag = 'vip'")
            raw = {row[0] for row in cursor.fetchall()}
    assert seen == raw == {mine.id}
    assert theirs.id not in seen

    filters = selectors.TicketFilters(tag="vip")
    page = selectors.ticket_list(organization=tenant_a.org, actor=tenant_a.agent, filters=filters)
    rows, _ = listing.ticket_list_rows(
        organization=tenant_a.org, actor=tenant_a.agent, filters=filters
    )
    assert [t.id for t in page.items] == [r["id"] for r in rows] == [mine.id]


def test_tag_filters_find_what_the_tags_column_holds(tenant_a, tenant_b, app_role):
    tickets = [open_ticket(tenant_a, tags=["vip"] if n % 3 == 0 else ["other"]) for n in range(9)]
    services.ticket_soft_delete(
        organization=tenant_a.org, actor=tenant_a.manager, ticket=tickets[0]
    )
    open_ticket(tenant_b, tags=["vip"])
    with tenant(tenant_a.org):
        truth = set(
            Ticket.objects.filter(organization=tenant_a.org, tags__contains=["vip"]).values_list(
                "id", flat=True
            )
        )
    filters = selectors.TicketFilters(tag=" VIP ")

    page = selectors.ticket_list(organization=tenant_a.org, actor=tenant_a.agent, filters=filters)
    rows, _ = listing.ticket_list_rows(
        organization=tenant_a.org, actor=tenant_a.agent, filters=filters
    )

    assert {t.id for t in page.items} == {r["id"] for r in rows} == truth
    assert len(truth) == 2


def _view(world, name: str, filters: dict) -> SavedView:
    with tenant(world.org):
        return SavedView.objects.create(
            organization=world.org, owner=world.agent, created_by=world.agent,
            name=name, filters=filters,
        )  # fmt: skip


def test_view_counts_with_tags_match_the_lists(tenant_a, tenant_b, app_role):
    for n in range(7):
        open_ticket(tenant_a, tags=["vip"] if n % 2 == 0 else [], priority="urgent")
    open_ticket(tenant_b, tags=["vip"])
    views = [
        _view(tenant_a, "Tagged vip", {"tag": "vip"}),
        _view(tenant_a, "Urgent vip", {"tag": "VIP", "priority": ["urgent"]}),
        _view(tenant_a, "Tagged none", {"tag": "nothing"}),
    ]

    with CaptureQueriesContext(connection) as captured:
        counts = view_counts(organization=tenant_a.org, actor=tenant_a.agent, views=views)

    assert counts == {views[0].id: 4, views[1].id: 4, views[2].id: 0}
    assert len([q for q in captured if "tickets_tickettag" in q["sql"]]) == 1


def test_the_tag_list_has_a_fixed_query_count(tenant_a, app_role):
    filters = selectors.TicketFilters(tag="vip")
    counts = []
    for total in (1, 50):
        while len(_rows(tenant_a.org)) < total:
            open_ticket(tenant_a, tags=["vip"])
        with CaptureQueriesContext(connection) as captured:
            page = selectors.ticket_list(
                organization=tenant_a.org, actor=tenant_a.agent, filters=filters, limit=50
            )
            listing.ticket_list_rows(
                organization=tenant_a.org, actor=tenant_a.agent, filters=filters, limit=50
            )
        assert len(page.items) == total
        counts.append(len(captured))
    assert counts[0] == counts[1]


# ------------------------------------------------------------------ custom field values
def _values(org) -> set[tuple[int, str, str]]:
    with tenant(org):
        return set(TicketFieldValue.objects.values_list("ticket_id", "field", "value"))


def test_custom_field_values_follow_the_ticket(tenant_a):
    ticket = open_ticket(
        tenant_a, custom_fields={"plan": "gold", "seats": 5.50, "paid": True, "notes": None,
                                 "list": ["a"], "long": "x" * 201},
    )  # fmt: skip
    assert _values(tenant_a.org) == {
        (ticket.id, "plan", "s:gold"), (ticket.id, "seats", "n:5.5"), (ticket.id, "paid", "b:true"),
    }  # fmt: skip

    ticket.refresh_from_db()
    services.ticket_update(
        organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket, version=ticket.version,
        custom_fields={"plan": "silver", "seats": 5.50},
    )  # fmt: skip
    assert _values(tenant_a.org) == {(ticket.id, "plan", "s:silver"), (ticket.id, "seats", "n:5.5")}

    services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket)
    assert _values(tenant_a.org) == set()
    services.ticket_restore(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket)
    assert len(_values(tenant_a.org)) == 2
    with tenant(tenant_a.org):
        Ticket.all_objects.filter(pk=ticket.pk).delete()
    assert _values(tenant_a.org) == set()


@pytest.mark.parametrize(
    ("name", "value"),
    [("plan", "gold"), ("seats", "5"), ("seats", "5.0"), ("seats", "5.5"), ("seats", "-0"),
     ("paid", "true"), ("paid", "false"), ("code", "007"), ("code", "7"), ("plan", "none")],
)  # fmt: skip
def test_custom_field_filters_find_what_jsonb_containment_finds(tenant_a, tenant_b, name, value):
    stored = [
        {"plan": "gold", "seats": 5, "paid": True, "code": "007"},
        {"plan": "Gold", "seats": 5.0, "paid": False, "code": 7},
        {"plan": "gold", "seats": "5", "paid": "true", "code": 7.0},
        {"seats": 5.5, "paid": "false"},
        {"seats": 0},
        {"seats": "-0"},
        {},
    ]
    for fields in stored:
        open_ticket(tenant_a, custom_fields=fields)
        open_ticket(tenant_b, custom_fields=fields)
    with tenant(tenant_a.org):
        truth = Q()
        for match in selectors.custom_matches(name, value):
            truth |= Q(custom_fields__contains=match)
        expected = set(
            Ticket.objects.filter(truth, organization=tenant_a.org).values_list("id", flat=True)
        )
    filters = selectors.TicketFilters(custom=((name, value),))

    page = selectors.ticket_list(organization=tenant_a.org, actor=tenant_a.agent, filters=filters)
    rows, _ = listing.ticket_list_rows(
        organization=tenant_a.org, actor=tenant_a.agent, filters=filters
    )

    assert {t.id for t in page.items} == {r["id"] for r in rows} == expected


def test_each_organization_sees_only_its_own_field_values(tenant_a, tenant_b, app_role):
    mine = open_ticket(tenant_a, custom_fields={"plan": "gold"})
    open_ticket(tenant_b, custom_fields={"plan": "gold"})
    with tenant(tenant_a.org, tenant_a.agent):
        seen = set(TicketFieldValue.objects.values_list("ticket_id", flat=True))
    filters = selectors.TicketFilters(custom=(("plan", "gold"),))
    rows, _ = listing.ticket_list_rows(
        organization=tenant_a.org, actor=tenant_a.agent, filters=filters
    )
    assert seen == {r["id"] for r in rows} == {mine.id}


def test_view_counts_with_custom_fields_match_the_lists(tenant_a, tenant_b, app_role):
    for n in range(7):
        fields = {"seats": [5, 5.0, "5", 6][n % 4], "plan": "gold" if n % 2 else "free"}
        open_ticket(tenant_a, custom_fields=fields, priority="urgent" if n < 3 else "low")
    open_ticket(tenant_b, custom_fields={"seats": 5})
    views = [
        _view(tenant_a, "Five seats", {"cf": {"seats": 5}}),
        _view(tenant_a, "Five seats, text", {"cf": {"seats": "5.0"}}),
        _view(tenant_a, "Urgent gold", {"cf": {"plan": "gold"}, "priority": ["urgent"]}),
        _view(tenant_a, "Gold five", {"cf": {"plan": "gold", "seats": 5}}),
    ]

    counts = view_counts(organization=tenant_a.org, actor=tenant_a.agent, views=views)

    expected = {}
    for view in views:
        filters = filters_from(view.filters, tenant_a.agent)
        rows, _ = listing.ticket_list_rows(
            organization=tenant_a.org, actor=tenant_a.agent, filters=filters, limit=100
        )
        expected[view.id] = len(rows)
    assert counts == expected
    assert list(counts.values()) == [6, 4, 1, 2]
