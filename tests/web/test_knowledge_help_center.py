"""The public help center: who reads what, canonical addresses, feedback, views, queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from deskbase.core.tenancy import tenant
from deskbase.knowledge import services
from tests.knowledge.factories import article, section
from tests.web.helpers import queries_of, signed_in

pytestmark = pytest.mark.django_db


def url(world, translation, slug=None) -> str:
    return f"/help/{world.org.slug}/articles/{translation.article_id}-{slug or translation.slug}"


def test_anonymous_visitors_read_public_articles_only(tenant_a, tenant_b):
    public = article(tenant_a, section(tenant_a), title="Printer offline")
    members = article(tenant_a, section(tenant_a, visibility="customers", name="Billing"))
    internal = article(tenant_a, section(tenant_a, visibility="internal", name="Runbooks"))
    anonymous = Client()
    page = anonymous.get(url(tenant_a, public))
    assert page.status_code == 200
    assert b"Printer offline" in page.content
    assert anonymous.get(url(tenant_a, members)).status_code == 404
    # A signed-in customer of the organization reads the customers section, not internal
    customer = signed_in(tenant_a.customer)
    assert customer.get(url(tenant_a, members)).status_code == 200
    assert customer.get(url(tenant_a, internal)).status_code == 404
    assert signed_in(tenant_a.agent).get(url(tenant_a, internal)).status_code == 200
    # Tenant B's customer is an anonymous reader in A's help center ...
    assert signed_in(tenant_b.customer).get(url(tenant_a, members)).status_code == 404
    # ... and A's article under B's address does not exist
    foreign = f"/help/{tenant_b.org.slug}/articles/{public.article_id}-{public.slug}"
    assert signed_in(tenant_b.customer).get(foreign).status_code == 404
    assert anonymous.get("/help/no-such-org/").status_code == 404
    home = anonymous.get(f"/help/{tenant_a.org.slug}/").content
    assert b"Printing" in home
    assert b"Runbooks" not in home
    assert b"Billing" not in home


def test_the_canonical_address_survives_a_new_title(tenant_a):
    translation = article(tenant_a, section(tenant_a), title="Printer offline")
    old = url(tenant_a, translation)
    services.translation_save(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=translation.article_id,
        language="en", title="Printer shows offline", slug="",
    )  # fmt: skip
    services.translation_publish(
        organization=tenant_a.org, actor=tenant_a.manager, article_id=translation.article_id,
        language="en",
    )  # fmt: skip
    moved = Client().get(old)
    assert moved.status_code == 301
    canonical = f"/help/{tenant_a.org.slug}/articles/{translation.article_id}-printer-shows-offline"
    assert moved["Location"] == canonical
    assert (
        Client().get(f"/help/{tenant_a.org.slug}/articles/{translation.article_id}")["Location"]
        == canonical
    )
    assert Client().get(canonical).status_code == 200


def test_the_reader_gets_their_language_or_a_clear_fallback(tenant_a):
    translation = article(tenant_a, section(tenant_a), title="Reset your password")
    page = Client().get(url(tenant_a, translation), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert page.status_code == 200
    # the page speaks the reader's language (docs/i18n.md), the article falls back
    assert "in Ihrer Sprache nicht verfügbar" in page.content.decode()
    services.translation_save(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=translation.article_id,
        language="de", title="Passwort zur\u00fccksetzen", body="So.",
    )  # fmt: skip
    services.translation_publish(
        organization=tenant_a.org, actor=tenant_a.manager, article_id=translation.article_id,
        language="de",
    )  # fmt: skip
    german = Client().get(
        url(tenant_a, translation, "passwort-zurucksetzen"), HTTP_ACCEPT_LANGUAGE="de"
    )
    assert german.status_code == 200
    assert "Passwort zurücksetzen" in german.content.decode()
    assert "in Ihrer Sprache nicht verfügbar" not in german.content.decode()


def _feedback_rows(world) -> list[tuple]:
    with tenant(world.org), connection.cursor() as cursor:
        cursor.execute("SELECT visitor, helpful, reason FROM knowledge_feedback ORDER BY id")
        return cursor.fetchall()


def test_feedback_counts_once_per_anonymous_visitor_and_asks_why_on_no(tenant_a):
    translation = article(tenant_a, section(tenant_a))
    visitor = Client()
    visitor.get(url(tenant_a, translation))  # the page gives the visitor its cookie
    post = f"/help/{tenant_a.org.slug}/articles/{translation.article_id}/feedback"
    assert visitor.post(post, {"helpful": "yes"}).status_code == 302
    assert visitor.post(post, {"helpful": "yes"}).status_code == 302
    refused = visitor.post(post, {"helpful": "no"})
    assert refused.status_code == 422
    assert b"Say why" in refused.content
    assert visitor.post(post, {"helpful": "no", "reason": "outdated"}).status_code == 302
    rows = _feedback_rows(tenant_a)
    assert len(rows) == 1
    assert rows[0][1:] == (False, "outdated")
    # Another visitor is another vote
    Client().post(post, {"helpful": "yes"})
    assert len(_feedback_rows(tenant_a)) == 2


def test_every_read_is_counted_in_the_view_log(tenant_a):
    translation = article(tenant_a, section(tenant_a))
    Client().get(url(tenant_a, translation))
    signed_in(tenant_a.customer).get(url(tenant_a, translation))
    with tenant(tenant_a.org), connection.cursor() as cursor:
        cursor.execute("SELECT visitor FROM knowledge_articleview ORDER BY id")
        visitors = [row[0] for row in cursor.fetchall()]
    assert len(visitors) == 2
    assert visitors[1] == f"u:{tenant_a.customer.pk}"


def test_search_finds_by_title_and_logs_what_found_nothing(tenant_a):
    article(tenant_a, section(tenant_a), title="Printer offline")
    found = Client().get(f"/help/{tenant_a.org.slug}/search", {"q": "printer"})
    assert b"Printer offline" in found.content
    nothing = Client().get(f"/help/{tenant_a.org.slug}/search", {"q": "invoice"})
    assert b"No article matches" in nothing.content
    with tenant(tenant_a.org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT query FROM search_searchlog WHERE types = 'articles' AND result_count = 0"
        )
        assert cursor.fetchall() == [("invoice",)]
    suggestions = Client().get(f"/help/{tenant_a.org.slug}/suggest", {"q": "my printer is offline"})
    assert b"Printer offline" in suggestions.content


def test_pages_run_a_fixed_number_of_queries(tenant_a):
    place = section(tenant_a)
    first = article(tenant_a, place, title="Article 0", tags=["a"])
    client = Client()
    client.get(f"/help/{tenant_a.org.slug}/")  # warm the caches
    one_article = queries_of(client, url(tenant_a, first))
    one_list = queries_of(client, f"/help/{tenant_a.org.slug}/sections/{place.pk}/")
    for index in range(1, 50):
        last = article(tenant_a, place, title=f"Article {index}", tags=[f"t{i}" for i in range(9)])
    assert queries_of(client, url(tenant_a, last)) == one_article
    assert queries_of(client, f"/help/{tenant_a.org.slug}/sections/{place.pk}/") == one_list
