"""Help center search and suggestions: only what the reader may see, best first."""

from __future__ import annotations

from django.db import connection

from deskbase.knowledge import selectors, services
from tests.knowledge.factories import article, section


def _titles(rows):
    return [row["title"] for row in rows]


def test_a_page_of_results_is_the_best_the_reader_may_see(tenant_a, tenant_b):
    # Given internal articles that match better than the public ones (the word in the title)
    runbooks = section(tenant_a, visibility="internal", name="Runbooks")
    for n in range(3):
        article(tenant_a, runbooks, title=f"Router reset {n}", body="Router router router.")
    public = section(tenant_a, name="Networking")
    article(tenant_a, public, title="Wireless help", body="Restart the router once.")
    article(tenant_a, public, title="Cables", body="A router needs power.")
    article(tenant_a, public, title="Unrelated", body="Nothing here.")
    # And another tenant's public article with the same word
    article(tenant_b, section(tenant_b), title="Router at Globex", body="Router.")
    # When an anonymous reader asks for two results
    found = selectors.search(selectors.Reader(tenant_a.org.pk), "router", limit=2, log=False)
    # Then both public matches come back, none of the internal ones nor tenant B's
    assert sorted(_titles(found.items)) == ["Cables", "Wireless help"]
    # And staff get the best matches of every visibility
    staff = selectors.search(selectors.reader_of(tenant_a.agent), "router", limit=2, log=False)
    assert all(title.startswith("Router reset") for title in _titles(staff.items))


def test_deleted_articles_and_sections_are_not_found(tenant_a):
    place = section(tenant_a)
    gone = article(tenant_a, place, title="Printer offline")
    kept = article(tenant_a, section(tenant_a, name="Scanners"), title="Printer jam")
    services.article_delete(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=gone.article_id
    )
    services.section_delete(organization=tenant_a.org, actor=tenant_a.admin, section_id=place.pk)
    reader = selectors.Reader(tenant_a.org.pk)
    assert _titles(selectors.search(reader, "printer", log=False).items) == ["Printer jam"]
    assert _titles(selectors.suggest(reader, "printr")) == ["Printer jam"]
    assert kept.article_id


def test_suggestions_are_titles_the_reader_may_see(tenant_a):
    article(
        tenant_a, section(tenant_a, visibility="internal", name="Runbooks"), title="Printer fleet"
    )
    article(
        tenant_a,
        section(tenant_a, visibility="customers", name="Billing"),
        title="Printer invoices",
    )
    article(tenant_a, section(tenant_a), title="Printer offline")
    assert _titles(selectors.suggest(selectors.Reader(tenant_a.org.pk), "printer")) == [
        "Printer offline"
    ]
    customer = selectors.reader_of(tenant_a.customer)
    assert sorted(_titles(selectors.suggest(customer, "printer"))) == [
        "Printer invoices", "Printer offline",
    ]  # fmt: skip


def test_the_small_structure_tables_are_analyzed_after_a_few_changes(db):
    # A handful of categories and sections would never reach autovacuum's default
    # threshold (50 rows): without statistics the planner misjudges every search.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relname IN ('knowledge_category', 'knowledge_section') ORDER BY relname"
        )
        rows = dict(cursor.fetchall())
    for table in ("knowledge_category", "knowledge_section"):
        assert "autovacuum_analyze_threshold=5" in (rows[table] or []), table


def test_a_regional_browser_language_reads_and_finds_the_plain_language(tenant_a):
    # Given an English article, and a reader whose browser asks for en-US
    published = article(tenant_a, section(tenant_a), title="Printer offline")
    reader = selectors.Reader(tenant_a.org.pk)
    # Then search and suggestions find it, and the page shows it without a "not in your
    # language" notice
    found = selectors.search(reader, "printer", language="en-us", log=False)
    assert _titles(found.items) == ["Printer offline"]
    assert _titles(selectors.suggest(reader, "printer", language="en-us")) == ["Printer offline"]
    read = selectors.readable_article(reader, published.article_id, language="en-us")
    assert (read.translation.language, read.fallback) == ("en", False)
    page = selectors.section_articles(reader, published.article.section_id, language="en-us")
    assert [t.language for t in page.items] == ["en"]


def test_a_misspelt_search_suggests_the_title_it_meant(tenant_a):
    # Given an article, when a reader misspells a word of its title (one letter missing)
    article(tenant_a, section(tenant_a), title="Printer offline")
    found = selectors.search(selectors.Reader(tenant_a.org.pk), "prnter", log=False)
    # Then nothing matches, and the title is suggested
    assert found.items == []
    assert _titles(found.suggestions) == ["Printer offline"]
    # And the lower threshold does not leak into the rest of the transaction
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pg_trgm.word_similarity_threshold')")
        assert cursor.fetchone()[0] == "0.6"


def test_snippets_show_the_text_not_the_markdown(tenant_a):
    article(
        tenant_a, section(tenant_a), title="Printer offline",
        body="## Steps\n\nPress **the printer** button, see [the printer manual](https://ex.com/m).",
    )  # fmt: skip
    found = selectors.search(selectors.Reader(tenant_a.org.pk), "printer", log=False)
    snippet = found.items[0]["snippet"]
    for mark in ("**", "##", "](", "ex.com"):
        assert mark not in snippet
    assert "printer\ue001 manual" in snippet
