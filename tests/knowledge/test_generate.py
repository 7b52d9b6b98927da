"""`deskbase generate --articles N`: published, searchable articles in one organization."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from deskbase.datagen.articles import generate_articles
from deskbase.knowledge import selectors
from deskbase.knowledge.models import Article, Translation


def test_generated_articles_are_published_searchable_and_the_same_for_a_seed(tenant_a, tenant_b):
    with connection.cursor() as cursor:  # the owner role, like the generator
        made = generate_articles(cursor, organization_id=tenant_a.org.pk, count=40, seed=3)
    assert made == 40
    assert Article.objects.filter(organization=tenant_a.org).count() == 40
    assert not Article.objects.filter(organization=tenant_b.org).exists()
    published = Translation.objects.filter(organization=tenant_a.org,
                                           published_revision__isnull=False)  # fmt: skip
    assert published.count() == 40
    first = published.order_by("article_id").first()
    assert first.published_revision.body_html.startswith("<p>If the ")
    word = first.title.split()[0]
    found = selectors.search(selectors.Reader(tenant_a.org.pk), word, log=False)
    assert found.items
    # The same seed in another organization gives the same titles, in the same order
    with connection.cursor() as cursor:
        generate_articles(cursor, organization_id=tenant_b.org.pk, count=40, seed=3)
    titles = [
        list(Translation.objects.filter(organization=org).order_by("article_id")
             .values_list("title", flat=True))
        for org in (tenant_a.org, tenant_b.org)
    ]  # fmt: skip
    assert titles[0] == titles[1]


@pytest.mark.django_db
def test_the_generate_command_adds_articles_to_the_largest_organization():
    call_command("generate", "--tickets=40", "--orgs=2", "--until=2026-06-01",
                 "--articles=25", verbosity=0)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id FROM organizations_organization o ORDER BY"
            " (SELECT count(*) FROM tickets_ticket t WHERE t.organization_id = o.id) DESC, o.id"
            " LIMIT 1"
        )
        (largest,) = cursor.fetchone()
    published = Translation.objects.filter(published_revision__isnull=False)
    assert published.count() == 25
    assert set(published.values_list("organization_id", flat=True)) == {largest}
    with pytest.raises(CommandError, match="--articles must be 0 or more"):
        call_command("generate", "--tickets=5", "--articles=-1", verbosity=0)


@pytest.mark.django_db
def test_no_knowledge_table_refers_to_the_bulk_loaded_ticket_tables():
    # A foreign key into them would make the generator's TRUNCATE (for COPY FREEZE) fail
    from deskbase.datagen import loader

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint"
            " WHERE contype = 'f' AND confrelid = ANY(%s::regclass[])"
            " AND conrelid::regclass::text LIKE 'knowledge%%'",
            [list(loader.BULK_TABLES)],
        )
        assert cursor.fetchall() == []


@pytest.mark.django_db
def test_generated_articles_leave_statistics_for_the_planner(tenant_a):
    """Given an organization, when articles are generated, then every table they went into
    is analyzed: the 20 sections and 5 categories are too few rows for autovacuum to
    analyze, and without statistics the planner hashed every visible translation for
    each help center search instead of looking up the matches."""
    with connection.cursor() as cursor:
        generate_articles(cursor, organization_id=tenant_a.org.pk, count=40, seed=3)
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN ('knowledge_category',"
            " 'knowledge_section', 'knowledge_article', 'knowledge_revision',"
            " 'knowledge_translation') ORDER BY relname"
        )
        counted = dict(cursor.fetchall())
    assert counted == {
        "knowledge_article": 40, "knowledge_category": 5, "knowledge_revision": 40,
        "knowledge_section": 20, "knowledge_translation": 40,
    }  # fmt: skip
