# the caller gives (query text, language, ids) is a bound parameter.
"""Every read of the knowledge base, scoped to the tenant and to what the reader may see.

A reader is a staff member (every section, drafts included where asked), a signed-in
customer of the organization (public and customers sections) or anyone else (public
sections). Readers see published translations only; an article they may not see, like
another tenant's, is a NotFound.

Query budgets: `help_center` 1; `section_articles` 2; `readable_article` 1;
`article_list` 2; `article_detail` 2; `readable_attachment` 1; `attachments` 2;
`search` 1 (+1 for suggestions when nothing matched, +1 to log it); `suggest` 1.
"""

from __future__ import annotations

import difflib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.db import DatabaseError, connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.knowledge.models import (
    Article,
    ArticleAttachment,
    Category,
    Revision,
    Section,
    Translation,
    Visibility,
)
from deskbase.search.query import START, STOP, clean, normalized, prefix_last, without_tags
from deskbase.tickets.attachments import path_for
from deskbase.tickets.permissions import is_staff_member

MAX_PAGE = 100
logger = logging.getLogger("deskbase.search")


@dataclass(frozen=True)
class Reader:
    """Who reads, as far as the knowledge base cares."""

    organization_id: int
    user: User | None = None

    @property
    def staff(self) -> bool:
        return self.member and self.user is not None and is_staff_member(self.user)

    @property
    def member(self) -> bool:
        return self.user is not None and self.user.organization_id == self.organization_id

    @property
    def visibilities(self) -> list[str]:
        if self.staff:
            return list(Visibility.values)
        if self.member:
            return [Visibility.PUBLIC, Visibility.CUSTOMERS]
        return [Visibility.PUBLIC]


def reader_of(user: User) -> Reader:
    return Reader(organization_id=user.tenant_id, user=user)


def help_center_organization(slug: str) -> int | None:
    """The organization id of a help center address, for visitors who are not signed in
    (no tenant yet): the narrow SECURITY DEFINER lookup that sign-in uses."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT deskbase_organization_id(%s)", [slug])
        return cursor.fetchone()[0]


def _accepted(language: str) -> list[str]:
    """The translations that answer a reader's language: itself and, for a regional
    one (`en-us`, as browsers send it), its plain language (`en`)."""
    plain = language.split("-")[0]
    return [language] if plain == language else [language, plain]


def _language(value: str | None) -> str:
    text = (value or "en").strip().lower()
    if not text or len(text) > 5 or not text.replace("-", "").isalpha():
        raise ValidationFailed.one("lang", gettext("A language is a code such as en or pt-br."))
    return text


# ------------------------------------------------------------------ browsing
@dataclass
class CategoryNode:
    category: Category
    sections: list[Section] = field(default_factory=list)


def help_center(reader: Reader) -> list[CategoryNode]:
    """Categories with the sections the reader may see, in their order. One query."""
    with tenant(reader.organization_id, reader.user if reader.member else None, savepoint=False):
        sections = list(
            Section.objects.filter(
                organization_id=reader.organization_id,
                visibility__in=reader.visibilities,
                category__deleted_at__isnull=True,
            )
            .select_related("category")
            .order_by("category__position", "category__name", "category_id", "position", "name")
        )
    nodes: dict[int, CategoryNode] = {}
    for section in sections:
        nodes.setdefault(section.category_id, CategoryNode(section.category)).sections.append(
            section
        )
    return list(nodes.values())


def categories(*, user: User) -> list[Category]:
    """Staff: every live category, sections or not, in order. 1 query."""
    _ensure_staff_reader(user)
    with tenant(user.organization_id, user, savepoint=False):
        return list(
            Category.objects.filter(organization_id=user.tenant_id).order_by(
                "position", "name", "id"
            )
        )


def _published(reader: Reader, language: str) -> Q:
    """Published translations of live articles in visible sections, in the reader's
    language or, where there is none, the article's own."""
    return Q(
        organization_id=reader.organization_id,
        published_revision__isnull=False,
        article__deleted_at__isnull=True,
        article__section__deleted_at__isnull=True,
        article__section__visibility__in=reader.visibilities,
    ) & (Q(language__in=_accepted(language)) | Q(language=F("article__language")))


def _pick(rows: list[Translation], language: str) -> list[Translation]:
    """One translation per article: the reader's language (the regional one first),
    else the article's own."""
    preference = _accepted(language)

    def rank(row: Translation) -> int:
        return preference.index(row.language) if row.language in preference else len(preference)

    chosen: dict[int, Translation] = {}
    for row in rows:
        if row.article_id not in chosen or rank(row) < rank(chosen[row.article_id]):
            chosen[row.article_id] = row
    return list(chosen.values())


@dataclass
class SectionPage:
    section: Section
    items: list[Translation]
    next_cursor: int | None


def section_articles(
    reader: Reader, section_id: int, *, language: str | None = None, after: int | None = None,
    limit: int = 50,
) -> SectionPage:  # fmt: skip
    """A section's published articles (newest first, keyset on the article id). 2 queries."""
    language = _language(language)
    limit = max(1, min(limit, MAX_PAGE))
    with tenant(reader.organization_id, reader.user if reader.member else None, savepoint=False):
        section = (
            Section.objects.filter(
                organization_id=reader.organization_id,
                pk=section_id,
                visibility__in=reader.visibilities,
                category__deleted_at__isnull=True,
            )
            .select_related("category")
            .first()
        )
        if section is None:
            raise NotFound(gettext("no such section"), field="section")
        rows = Translation.objects.filter(_published(reader, language), article__section=section)
        if after is not None:
            rows = rows.filter(article_id__lt=after)
        # Two translations at most per article: fetch twice the page, then pick.
        found = list(
            rows.select_related("published_revision")
            .defer("body", "published_revision__body", "published_revision__body_html")
            .order_by("-article_id", "id")[: 2 * limit + 1]
        )
    items = _pick(found, language)
    more = len(items) > limit
    items = items[:limit]
    return SectionPage(section, items, items[-1].article_id if more and items else None)


@dataclass
class ReadArticle:
    translation: Translation
    revision: Revision
    article: Article
    section: Section
    category: Category
    fallback: bool  # not in the language asked for
    languages: list[str]

    @property
    def slug(self) -> str:
        return self.translation.slug


def readable_article(
    reader: Reader, article_id: int, *, language: str | None = None
) -> ReadArticle:
    """The published article as the reader may read it, in their language or the
    article's own (`fallback`); without a language, in the article's own. One query."""
    asked = _language(language) if language else None
    with tenant(reader.organization_id, reader.user if reader.member else None, savepoint=False):
        rows = list(
            Translation.objects.filter(
                organization_id=reader.organization_id,
                article_id=article_id,
                published_revision__isnull=False,
                article__deleted_at__isnull=True,
                article__section__deleted_at__isnull=True,
                article__section__category__deleted_at__isnull=True,
                article__section__visibility__in=reader.visibilities,
            )
            .select_related(
                "published_revision", "article", "article__section", "article__section__category"
            )
            .defer("body", "published_revision__body")
            .order_by("language")
        )
    if not rows:
        raise NotFound(
            gettext("no article %(article_id)s") % {"article_id": article_id}, field="article"
        )
    by_language = {row.language: row for row in rows}
    own = rows[0].article.language
    wanted = _accepted(asked) if asked else [own]
    found = [by_language[lang] for lang in wanted if lang in by_language]
    chosen = found[0] if found else by_language.get(own) or rows[0]
    article = chosen.article
    assert chosen.published_revision is not None
    return ReadArticle(
        translation=chosen, revision=chosen.published_revision, article=article,
        section=article.section, category=article.section.category,
        fallback=chosen.language not in wanted, languages=sorted(by_language),
    )  # fmt: skip


# ------------------------------------------------------------------ files
def readable_attachment(reader: Reader, attachment_id: int) -> ArticleAttachment:
    """An article's file as the reader may download it. Staff: any file of a live
    article of their organization (drafts' images too). Others: only a file that a
    published revision refers to, of a live article in a section they may see.
    Anything else — another tenant's, a hidden article's, one no published text shows —
    is NotFound. One query."""
    with tenant(reader.organization_id, reader.user if reader.member else None, savepoint=False):
        rows = ArticleAttachment.objects.filter(
            organization_id=reader.organization_id, pk=attachment_id,
            article__deleted_at__isnull=True,
        )  # fmt: skip
        if not reader.staff:
            shown = Translation.objects.filter(
                organization_id=reader.organization_id, article_id=OuterRef("article_id"),
                published_revision__attachment_ids__contains=[attachment_id],
            )  # fmt: skip
            rows = rows.filter(
                Exists(shown),
                article__section__deleted_at__isnull=True,
                article__section__category__deleted_at__isnull=True,
                article__section__visibility__in=reader.visibilities,
            )
        found = rows.first()
    if found is None:
        raise NotFound(gettext("no such file"), field="attachment")
    return found


def attachments(*, user: User, article_id: int) -> list[ArticleAttachment]:
    """Staff: the files of a live article, oldest first; another tenant's or a deleted
    article is NotFound (not an empty list). 2 queries."""
    _ensure_staff_reader(user)
    with tenant(user.organization_id, user, savepoint=False):
        found = (
            Article.objects.filter(organization_id=user.tenant_id, pk=article_id)
            .prefetch_related(
                Prefetch("attachments", queryset=ArticleAttachment.objects.order_by("id"))
            )
            .first()
        )
    if found is None:
        raise NotFound(
            gettext("no article %(article_id)s") % {"article_id": article_id}, field="article"
        )
    return list(found.attachments.all())


def open_attachment(attachment: ArticleAttachment) -> BinaryIO:
    """The file's content opened for reading (the caller closes it)."""
    try:
        return path_for(attachment.sha256).open("rb")
    except FileNotFoundError:
        logger.error("knowledge file %s: content %s is missing", attachment.pk, attachment.sha256)
        raise NotFound(gettext("the file's content is missing"), field="attachment") from None


# ------------------------------------------------------------------ staff
def _ensure_staff_reader(user: User) -> None:
    from deskbase.tickets.permissions import ensure_staff

    ensure_staff(user, gettext("manage the knowledge base"))


def article_list(
    *, user: User, section_id: int | None = None, after: int | None = None, limit: int = 50
) -> tuple[list[Article], int | None]:
    """Staff: the tenant's live articles with every translation, newest first (keyset
    on id). 2 queries."""
    _ensure_staff_reader(user)
    limit = max(1, min(limit, MAX_PAGE))
    with tenant(user.organization_id, user, savepoint=False):
        rows = Article.objects.filter(organization_id=user.organization_id)
        if section_id is not None:
            rows = rows.filter(section_id=section_id)
        if after is not None:
            rows = rows.filter(pk__lt=after)
        found = list(
            rows.select_related("section", "section__category")
            .prefetch_related(
                Prefetch(
                    "translations",
                    queryset=Translation.objects.defer("body").order_by("language"),
                )
            )
            .order_by("-id")[: limit + 1]
        )
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1].pk if more and found else None)


def article_detail(*, user: User, article_id: int) -> Article:
    """Staff: one live article with its translations (drafts included). 2 queries."""
    _ensure_staff_reader(user)
    with tenant(user.organization_id, user, savepoint=False):
        found = (
            Article.objects.filter(organization_id=user.organization_id, pk=article_id)
            .select_related("section", "section__category")
            .prefetch_related(
                Prefetch("translations", queryset=Translation.objects.order_by("language"))
            )
            .first()
        )
    if found is None:
        raise NotFound(
            gettext("no article %(article_id)s") % {"article_id": article_id}, field="article"
        )
    return found


def translation_of(article: Article, language: str) -> Translation:
    """The prefetched translation of `article` in `language` (no query)."""
    for translation in article.translations.all():
        if translation.language == language:
            return translation
    raise NotFound(
        gettext("no %(language)s translation of article %(pk)s")
        % {"language": language, "pk": article.pk},
        field="language",
    )


def revisions(*, user: User, article_id: int, language: str) -> list[Revision]:
    """Staff: a translation's revisions, newest first (bodies deferred). 1 query."""
    _ensure_staff_reader(user)
    with tenant(user.organization_id, user, savepoint=False):
        rows = list(
            Revision.objects.filter(
                organization_id=user.tenant_id,
                translation__article_id=article_id,
                translation__language=language,
                translation__article__deleted_at__isnull=True,
            )
            .select_related("author")
            .defer("body", "body_html")
            .order_by("-number")
        )
    if not rows:
        raise NotFound(
            gettext("no %(language)s translation of article %(article_id)s")
            % {"language": language, "article_id": article_id},
            field="language",
        )
    return rows


def revision_detail(
    *, user: User, article_id: int, language: str, number: int, against: int | None = None
) -> tuple[Revision, list[str]]:
    """Staff: a unified diff (difflib) of revision `number` against `against` (by
    default the one before it): title and body, line by line. 1 query."""
    _ensure_staff_reader(user)
    base = against if against is not None else number - 1
    with tenant(user.organization_id, user, savepoint=False):
        rows = {
            r.number: r
            for r in Revision.objects.filter(
                organization_id=user.tenant_id,
                translation__article_id=article_id,
                translation__language=language,
                translation__article__deleted_at__isnull=True,
                number__in=[number, base],
            )
        }
    if number not in rows:
        raise NotFound(gettext("no revision %(number)s") % {"number": number}, field="number")
    if base not in rows and base != 0:
        raise NotFound(gettext("no revision %(base)s") % {"base": base}, field="against")
    old = rows.get(base)
    new = rows[number]

    def lines(revision: Revision | None) -> list[str]:
        if revision is None:
            return []
        return [f"# {revision.title}", "", *revision.body.splitlines()]

    diff = difflib.unified_diff(
        lines(old), lines(new), f"revision {base}", f"revision {number}", lineterm=""
    )
    return new, list(diff)


def revision_diff(
    *, user: User, article_id: int, language: str, number: int, against: int | None = None
) -> list[str]:
    """The diff of `revision_detail` alone."""
    return revision_detail(
        user=user, article_id=article_id, language=language, number=number, against=against
    )[1]


# ------------------------------------------------------------------ search
HEADLINE = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, MaxFragments=2,"
    ' FragmentDelimiter=" … "'
)
SEARCH_SQL = """
SELECT t.id, t.article_id, t.language, t.slug, r.title, m.rank,
       ts_headline(knowledge_config(t.language), knowledge_plain(r.body), q.q, %(headline)s)
         AS snippet
FROM (SELECT CASE WHEN %(prefix)s AND w.q::text ~ '''$' THEN (w.q::text || ':*')::tsquery
                  ELSE w.q END AS q
      FROM (SELECT {parse}(knowledge_config(%(lang)s), %(text)s) AS q) w) q,
     knowledge_match_visible(q.q, %(langs)s::text[], %(visible)s::text[], %(limit)s::integer) m
JOIN knowledge_translation t ON t.id = m.translation_id
JOIN knowledge_revision r ON r.id = t.published_revision_id
ORDER BY m.rank DESC, t.id
"""
# knowledge_match_visible (migration 0004) drops deleted and invisible articles and
# keeps the best `limit` where the matches are found: only that page is joined here.
# any_word: every word may match ("printer offline paper" finds an article about any
# of them), the best first: for suggesting articles from what a customer types.
SUGGEST_SQL = """
SELECT t.id, t.article_id, t.language, t.slug, t.search_title AS title, m.similarity
FROM knowledge_similar_visible(
    %(text)s, %(langs)s::text[], %(visible)s::text[], %(limit)s::integer) m
JOIN knowledge_translation t ON t.id = m.translation_id
ORDER BY m.similarity DESC, t.id
"""


def _rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass
class SearchResults:
    query: str
    language: str
    items: list[dict[str, Any]]
    suggestions: list[dict[str, Any]] = field(default_factory=list)


def search(
    reader: Reader, q: str | None, *, language: str | None = None, limit: int = 20,
    any_word: bool = False, log: bool = True,
) -> SearchResults:  # fmt: skip
    """Published articles the reader may see matching `q` in `language`, best first
    (title A, tags B, body C), with highlighted snippets. When nothing matches: trigram
    suggestions of titles. Every search is logged (search_searchlog, type `articles`),
    so zero-result searches show in the analytics."""
    text = clean(q)
    language = _language(language)
    limit = max(1, min(limit, 50))
    if not text:
        return SearchResults(text, language, [])
    started = time.perf_counter()
    parse = "plainto_tsquery" if any_word else "websearch_to_tsquery"
    sql = SEARCH_SQL.replace("{parse}", parse)
    if any_word:
        sql = sql.replace(
            f"{parse}(knowledge_config(%(lang)s), %(text)s)",
            "replace(plainto_tsquery(knowledge_config(%(lang)s), %(text)s)::text,"
            " '&', '|')::tsquery",
        )
    params = {
        "text": without_tags(text), "lang": language, "langs": _accepted(language),
        "visible": reader.visibilities,
        "limit": limit, "headline": HEADLINE,
        "prefix": not any_word and prefix_last(text),
    }  # fmt: skip
    with tenant(reader.organization_id, reader.user if reader.member else None, savepoint=False):
        items = _once_per_article(_rows(sql, params))
        suggestions = [] if items else suggest(reader, text, language=language, limit=5)
    if log:
        _log(reader, text, len(items), (time.perf_counter() - started) * 1000)
    return SearchResults(text, language, items, suggestions)


def _once_per_article(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best row of each article (a regional and a plain translation may both match)."""
    best: dict[int, dict[str, Any]] = {}
    for row in rows:  # best first: keep the first row of each article
        best.setdefault(row["article_id"], row)
    return list(best.values())


def suggest(
    reader: Reader, q: str | None, *, language: str | None = None, limit: int = 8
) -> list[dict[str, Any]]:
    """Titles like what was typed (trigram word similarity), for a search box. 1 query."""
    text = clean(q)
    if len(text) < 3:
        return []
    params = {
        "text": text, "langs": _accepted(_language(language)), "visible": reader.visibilities,
        "limit": max(1, min(limit, 20)),
    }  # fmt: skip
    with tenant(reader.organization_id, reader.user if reader.member else None, savepoint=False):
        return _once_per_article(_rows(SUGGEST_SQL, params))


def _log(reader: Reader, text: str, count: int, latency_ms: float) -> None:
    """One row of search_searchlog; a failure to log never fails the search."""
    user_id = reader.user.pk if reader.member and reader.user else None
    try:
        with tenant(reader.organization_id, user_id), connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO search_searchlog
                   (organization_id, user_id, query, types, result_count, latency_ms)
                   VALUES (%s, %s, %s, 'articles', %s, %s)""",
                [reader.organization_id, user_id, normalized(text), count, max(latency_ms, 0.0)],
            )
    except DatabaseError:
        logger.exception("knowledge search log failed")
