"""Full-text search of tickets and their conversation: matching, ranking, scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deskbase.search import selectors
from deskbase.tickets import services
from deskbase.tickets.models import Ticket
from tests.search.helpers import numbers, search
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def _comment(world, ticket: Ticket, body: str, kind: str = "public") -> None:
    services.comment_add(organization=world.org, actor=world.agent, ticket=ticket, body=body,
                         kind=kind)  # fmt: skip


@pytest.fixture(params=["index", "recent"])
def both_plans(request, monkeypatch):
    """Each test of this kind runs with the index plan and with the recent walk."""
    if request.param == "recent":
        monkeypatch.setattr(selectors, "INDEX_MAX", {"documents": -1, "comments": -1})
    return request.param


def test_a_subject_match_ranks_above_a_comment_only_match(tenant_a, both_plans):
    # Given a ticket that mentions the word only in a (newer) comment, and one with it
    # in its subject
    in_subject = open_ticket(tenant_a, subject="Thermostat offline", description="Cold.")
    in_comment = open_ticket(tenant_a, subject="Heating question", description="Hello")
    _comment(tenant_a, in_comment, "Maybe the thermostat is the cause.")
    # When an agent searches the word
    found = search(tenant_a.agent, "thermostat")
    # Then both are found, the subject match first, and the other says why it matched
    assert numbers(found) == [in_subject.number, in_comment.number]
    items = found.groups["tickets"].items
    assert [i["matched_in"] for i in items] == ["ticket", "comment"]
    assert "<mark>thermostat</mark>" in items[1]["snippet"]
    assert items[0]["subject_html"] == "<mark>Thermostat</mark> offline"


def test_stemming_finds_other_forms_of_a_word(tenant_a, both_plans):
    ticket = open_ticket(tenant_a, subject="The printer jams", description="Every morning.")
    assert numbers(search(tenant_a.agent, "printers")) == [ticket.number]
    assert numbers(search(tenant_a.agent, "jamming")) == [ticket.number]


def test_accents_do_not_matter(tenant_a):
    ticket = open_ticket(tenant_a, subject="Café menu broken", description="")
    assert numbers(search(tenant_a.agent, "cafe")) == [ticket.number]
    assert numbers(search(tenant_a.agent, "CAFÉ")) == [ticket.number]


def test_a_subject_with_tags_is_found_by_pasting_it(tenant_a, both_plans):
    # Given a subject holding HTML-looking text (the indexed text drops tags)
    ticket = open_ticket(tenant_a, subject="Printer <b>offline</b> on floor 3", description="")
    # When the subject is pasted into the search box, tags and all
    found = search(tenant_a.agent, "Printer <b>offline</b> on floor 3")
    # Then the tags are dropped from the query as from the document, and it is found
    assert numbers(found) == [ticket.number]
    assert numbers(search(tenant_a.agent, '"printer <i>offline</i>"')) == [ticket.number]


def test_exclusion_phrase_and_or(tenant_a, both_plans):
    card = open_ticket(tenant_a, subject="Credit card declined", description="Visa")
    card_password = open_ticket(tenant_a, subject="Credit card and password", description="")
    card_words = open_ticket(tenant_a, subject="Card for a credit note", description="")
    invoice = open_ticket(tenant_a, subject="Invoice missing", description="")
    assert set(numbers(search(tenant_a.agent, "credit card -password"))) == {
        card.number, card_words.number}  # fmt: skip
    assert set(numbers(search(tenant_a.agent, '"credit card"'))) == {
        card.number, card_password.number}  # fmt: skip
    assert set(numbers(search(tenant_a.agent, '"credit card" -password'))) == {card.number}
    assert set(numbers(search(tenant_a.agent, "visa OR invoice"))) == {
        card.number, invoice.number}  # fmt: skip


def test_a_new_ticket_is_found_at_once(tenant_a, both_plans):
    assert numbers(search(tenant_a.agent, "zeppelin")) == []
    ticket = open_ticket(tenant_a, subject="Zeppelin delivery late")
    assert numbers(search(tenant_a.agent, "zeppelin")) == [ticket.number]


def test_filters_narrow_the_tickets(tenant_a, both_plans):
    mine = open_ticket(tenant_a, subject="Scanner broken", assignee=tenant_a.agent,
                       priority="high")  # fmt: skip
    other = open_ticket(tenant_a, subject="Scanner slow", priority="low")
    agent = tenant_a.agent
    assert numbers(search(agent, "scanner", filters=selectors.Filters(assignee="me"))) == [
        mine.number]  # fmt: skip
    assert numbers(search(agent, "scanner", filters=selectors.Filters(priority=["low"]))) == [
        other.number]  # fmt: skip
    assert numbers(search(agent, "scanner", filters=selectors.Filters(assignee="unassigned"))) == [
        other.number]  # fmt: skip
    later = selectors.Filters(created_after=timezone.now() + timedelta(days=1))
    assert numbers(search(agent, "scanner", filters=later)) == []
    assert set(numbers(search(agent, "scanner", filters=selectors.Filters(
        status=["new"], created_before=timezone.now() + timedelta(days=1))))) == {
        mine.number, other.number}  # fmt: skip


def test_pages_follow_the_cursor_without_repeats(tenant_a, both_plans):
    made = {open_ticket(tenant_a, subject=f"Router {i} down").number for i in range(7)}
    seen, cursor = [], None
    for _ in range(5):
        found = search(tenant_a.agent, "router", types=["tickets"], limit=3, cursor=cursor)
        seen += numbers(found)
        token = found.groups["tickets"].next_cursor
        if token is None:
            break
        from deskbase.search.query import decode_cursor

        cursor = decode_cursor(token)
    assert sorted(seen) == sorted(made)


def test_a_ticket_number_goes_straight_to_the_ticket(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a, subject="Anything")
    open_ticket(tenant_b, subject="Other tenant's")
    for text in (f"#{ticket.number}", str(ticket.number), f" # {ticket.number} "):
        found = search(tenant_a.agent, text)
        assert found.direct["number"] == ticket.number
        assert found.groups == {}
    assert search(tenant_a.agent, "#987654").direct is None


def test_soft_deleted_tickets_and_comments_are_not_found_until_restored(tenant_a):
    ticket = open_ticket(tenant_a, subject="Keyboard sticky")
    services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket)
    assert numbers(search(tenant_a.agent, "keyboard")) == []
    services.ticket_restore(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket)
    assert numbers(search(tenant_a.agent, "keyboard")) == [ticket.number]


def test_edits_merges_and_raw_sql_keep_the_index_right(tenant_a):
    from django.db import connection

    from deskbase.core.tenancy import tenant

    ticket = open_ticket(tenant_a, subject="Monitor flickers")
    fresh = Ticket.objects.get(pk=ticket.pk)
    services.ticket_update(organization=tenant_a.org, actor=tenant_a.agent, ticket=fresh,
                           version=fresh.version, subject="Projector flickers")  # fmt: skip
    assert numbers(search(tenant_a.agent, "monitor")) == []
    assert numbers(search(tenant_a.agent, "projector")) == [ticket.number]
    # Raw SQL
    with tenant(tenant_a.org), connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET description = 'tulip bulbs' WHERE id = %s",
                       [ticket.id])  # fmt: skip
    assert numbers(search(tenant_a.agent, "tulips")) == [ticket.number]
    # A merge moves the source's comments to the target: found through the target
    source = open_ticket(tenant_a, subject="Duplicate report")
    _comment(tenant_a, source, "The walrus logo is wrong.")
    services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=source,
                          target=ticket)  # fmt: skip
    assert ticket.number in numbers(search(tenant_a.agent, "walrus"))


def test_other_types_are_found(tenant_a):
    from deskbase.tickets import canned

    canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.admin,
                                  name="Refund policy", body="Refunds take five days.")  # fmt: skip
    found = search(tenant_a.agent, "refund")
    assert [r["name"] for r in found.groups["canned_responses"].items] == ["Refund policy"]
    found = search(tenant_a.agent, tenant_a.customer.email.split("@")[0])
    assert [u["id"] for u in found.groups["users"].items] == [tenant_a.customer.id]
    found = search(tenant_a.agent, "acme")
    assert [o["id"] for o in found.groups["organizations"].items] == [tenant_a.org.id]


def test_stop_words_only_is_an_empty_answer(tenant_a):
    open_ticket(tenant_a, subject="The printer")
    found = search(tenant_a.agent, "the and of")
    assert found.groups == {}
    assert found.count == 0


def test_did_you_mean_from_the_vocabulary(tenant_a):
    open_ticket(tenant_a, subject="Printer offline")
    found = search(tenant_a.agent, "printr ofline")
    assert found.count == 0
    assert found.did_you_mean == "printer offline"
    assert search(tenant_a.agent, "printer").did_you_mean is None


def test_the_simple_configuration_does_not_stem(tenant_a):
    from deskbase.organizations.settings_services import organization_settings_update
    from deskbase.search import operations

    organization_settings_update(organization=tenant_a.org, actor=tenant_a.admin,
                                 settings={"search_language": "simple"})  # fmt: skip
    ticket = open_ticket(tenant_a, subject="Printers jammed")
    assert numbers(search(tenant_a.agent, "printer")) == []
    assert numbers(search(tenant_a.agent, "printers")) == [ticket.number]
    # Back to English: a re-index makes the old tickets stem again
    organization_settings_update(organization=tenant_a.org, actor=tenant_a.admin,
                                 settings={"search_language": "english"})  # fmt: skip
    operations.reindex(tenant_a.org.id)
    assert numbers(search(tenant_a.agent, "printer")) == [ticket.number]


def test_the_bound_of_a_query_follows_and_or_not_and_phrases():
    from deskbase.search import plan

    counts = {"'a'": (10.0, 1.0), "'b'": (20.0, 2.0), "'c'": (300.0, 3.0)}
    parse = lambda tree: plan._Parser(plan.tokens(tree), lambda t: counts.get(t, (1e6, 1e6)))  # noqa: E731
    assert parse("'a' & 'b'").expression() == (10.0, 1.0)
    assert parse("'a' | 'b'").expression() == (30.0, 3.0)
    assert parse("'a' <-> 'c' | 'b'").expression() == (30.0, 3.0)
    assert parse("( 'a' | 'c' ) & 'b'").expression() == (20.0, 2.0)
    assert parse("'it''s' & 'c'").expression() == (300.0, 3.0)
    assert plan.tokens("'x':* <2> 'y'") == ["'x':*", "<2>", "'y'"]


def test_a_prefix_search_finds_words_the_last_word_begins(tenant_a, tenant_b, both_plans):
    # Given a ticket about webhooks (and one in another tenant)
    ticket = open_ticket(tenant_a, subject="Webhook deliveries failing", description="")
    open_ticket(tenant_b, subject="Webhook of Globex", description="")
    # When the search box's text ends in part of a word
    found = search(tenant_a.agent, "webho", prefix=True)
    # Then it is searched as a prefix, and the match is highlighted
    assert numbers(found) == [ticket.number]
    assert "<mark>Webhook</mark>" in found.groups["tickets"].items[0]["subject_html"]
    assert numbers(search(tenant_a.agent, "failing webho", prefix=True)) == [ticket.number]
    # Only the last word: the others stay whole words; and without `prefix`, as before
    assert numbers(search(tenant_a.agent, "webho deliveries", prefix=True)) == []
    assert numbers(search(tenant_a.agent, "webho")) == []


def test_a_prefix_search_leaves_phrases_and_exclusions_alone(tenant_a, both_plans):
    hook = open_ticket(tenant_a, subject="Webhook retries", description="")
    open_ticket(tenant_a, subject="Web hosting renewal", description="")
    assert numbers(search(tenant_a.agent, 'retries "webho"', prefix=True)) == []
    assert numbers(search(tenant_a.agent, "retries -webho", prefix=True)) == [hook.number]
    assert numbers(search(tenant_a.agent, "webhook OR", prefix=True)) == [hook.number]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("webho", True), ("printer webho", True), ("webho ", True), ("-webho", False),
     ('"credit car', False), ('"credit card"', False), ("card OR", False), ("café", True),
     ("a_b_", False), ("", False), ("x:*", False)],
)  # fmt: skip
def test_which_last_words_are_prefixes(text, expected):
    from deskbase.search.query import prefix_last

    assert prefix_last(text) is expected
