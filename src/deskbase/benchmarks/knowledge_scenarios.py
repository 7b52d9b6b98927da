"""`deskbase bench` scenarios of the knowledge base (docs/knowledge-base.md), for the
largest organization: article search as the help center runs it, and the suggestions a
customer gets while typing a new ticket. `details.published` says how many articles
were searched (`deskbase generate --articles N` makes them; without any, the figure is
the cost of finding nothing)."""

from __future__ import annotations

from django.db import connection

from deskbase.benchmarks.context import Context
from deskbase.benchmarks.registry import Prepared, inprocess
from deskbase.core.tenancy import tenant
from deskbase.knowledge import selectors

SEARCH = "password"
TYPED = "the invoice is not loading since this morning"


def _reader(ctx: Context) -> tuple[selectors.Reader, int]:
    organization_id = ctx.need_subjects().organization_id
    with tenant(organization_id), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM knowledge_translation WHERE organization_id = %s"
            " AND published_revision_id IS NOT NULL",
            [organization_id],
        )
        published = cursor.fetchone()[0]
    return selectors.Reader(organization_id=organization_id), published


@inprocess("kb_search", "knowledge base: a help center search (one word), ranked with snippets")
def kb_search(ctx: Context) -> Prepared:
    reader, published = _reader(ctx)

    def call() -> selectors.SearchResults:
        return selectors.search(reader, SEARCH, log=False)

    first = call()
    details = {"query": SEARCH, "rows": len(first.items), "published": published}
    return Prepared(lambda index: call, details=details, tenant=(reader.organization_id, None))


@inprocess("kb_suggest", "knowledge base: articles suggested while a customer types a ticket")
def kb_suggest(ctx: Context) -> Prepared:
    reader, published = _reader(ctx)

    def call() -> selectors.SearchResults:
        return selectors.search(reader, TYPED, limit=5, any_word=True, log=False)

    first = call()
    details = {"query": TYPED, "rows": len(first.items), "published": published}
    return Prepared(lambda index: call, details=details, tenant=(reader.organization_id, None))
