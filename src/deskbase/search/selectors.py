# ruff: noqa: S608 - the SQL is assembled from constants of this module; every value
# the caller gives (query text, filters, cursor) is a bound parameter.
"""Global search: every read of the search API, scoped to the tenant and to the caller.

Query budget of `search`: 1 query for the organization's configuration and the
parsed query; for staff, 1 for the per-lexeme estimates (none when cached, see
`plan`); the ticket and comment groups share their hits: 1 or 2 queries each for
documents and comments, then 1 for each group's page; 1 for all other types together
(knowledge base articles included); 1 for "did you mean" when nothing matched. A
`#1234` naming a visible ticket: 1.

Two plans for the hits of tickets' documents and of comments (docs/search.md):

- *index*: every match from the GIN index is ranked, the best first. Right for
  rare terms; for a word in a third of a big tenant's tickets it would rank
  100,000+ rows;
- *recent*: walk the tenant's newest rows (a btree on organization_id and id)
  and keep the first WALK that match, ranked. Right for frequent terms, whose
  first matches come at once; the walk reads at most CAP rows, so a term rarer
  than expected costs a bounded scan, after which the index plan takes over when
  the matches turn out few.

An upper bound of the match count (`plan.estimate`, from the planner's per-lexeme
statistics) picks one; `@@` is written `(... @@ q) IS TRUE` in the walk so that
PostgreSQL cannot turn it back into a bitmap scan of every match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.html import escape

from deskbase.accounts.models import User
from deskbase.core.db.router import read_connection, replica_read
from deskbase.core.tenancy import tenant
from deskbase.search import plan
from deskbase.search.query import (
    START,
    STOP,
    Cursor,
    encode_cursor,
    like_pattern,
    prefix_last,
    ticket_number,
    without_tags,
    words,
)
from deskbase.tickets.permissions import is_staff_member

STAFF_TYPES = (
    "tickets", "comments", "canned_responses", "users", "attachments", "organizations",
    "articles",
)  # fmt: skip
CUSTOMER_TYPES = ("tickets", "comments", "attachments")
# Up to INDEX_MAX (bounded) matches, every match is ranked from the GIN index; above
# it, the first WALK matches among the tenant's CAP newest rows. Documents are narrow
# rows (about 40 a page): walking 50,000 reads fewer pages than fetching 1,000 matches.
# Comments are wide (their text is beside the vector): a walk costs more, so it is
# shorter and kept for terms with more matches.
WALK = 200
INDEX_MAX = {"documents": 1000, "comments": 5000}
CAP = {"documents": 50_000, "comments": 2_000}
# ts_rank normalization 32: rank / (rank + 1), so that scores stay in [0, 1).
RANK = "ts_rank({vector}, q.q, 32)"
# Recency: a score is 60 % text rank, 40 % more for a ticket changed today, decaying
# with a 30-day scale. A subject (A) match outranks a comment (C) match of any age.
RECENCY = "(0.6 + 0.4 / (1 + extract(epoch FROM (%(now)s - {column})) / 2592000.0))"
HEADLINE = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, MaxFragments=2,"
    ' FragmentDelimiter=" … "'
)
SUBJECT_HEADLINE = f"StartSel={START}, StopSel={STOP}, HighlightAll=true"


@dataclass
class Filters:
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    assignee: str | None = None  # "me", "unassigned" or an id
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass
class Group:
    items: list[dict[str, Any]]
    next_cursor: str | None = None
    plan: str | None = None


@dataclass
class Results:
    query: str
    groups: dict[str, Group]
    direct: dict[str, Any] | None = None
    did_you_mean: str | None = None
    estimates: dict[str, float] | None = None

    @property
    def count(self) -> int:
        return sum(len(g.items) for g in self.groups.values()) + (1 if self.direct else 0)


def html_snippet(value: str | None) -> str:
    """ts_headline's output made HTML-safe: everything escaped, then the marks put in."""
    return str(escape(value or "")).replace(START, "<mark>").replace(STOP, "</mark>")


def visible_types(user: User) -> tuple[str, ...]:
    return STAFF_TYPES if is_staff_member(user) else CUSTOMER_TYPES


def _rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass
class _Context:
    """One search's parameters, shared by its groups (hits are computed once)."""

    params: dict[str, Any]
    filters: Filters
    staff: bool
    estimate: plan.Estimate | None
    hits: tuple[Hits, Hits] | None = None


# ------------------------------------------------------------------ the entry point
@replica_read
def search(
    *,
    user: User,
    text: str,
    types: list[str] | None = None,
    filters: Filters | None = None,
    cursor: Cursor | None = None,
    limit: int = 20,
    prefix: bool = False,
) -> Results:
    """Search `text` in what `user` may see; one group per type, best first.

    `prefix`: the last word also matches the words it begins (`webho` finds
    `webhook`), as a search box that completes as one types leads people to expect.
    """
    filters = filters or Filters()
    allowed = visible_types(user)
    wanted = [t for t in (types or allowed) if t in allowed]
    if cursor is not None:
        wanted = [cursor.type] if cursor.type in allowed else []
    results = Results(query=text, groups={})
    staff = is_staff_member(user)
    org_id = user.tenant_id
    with tenant(org_id, user, savepoint=False):
        number = ticket_number(text)
        if number is not None and cursor is None:
            results.direct = _direct_ticket(user, number)
            if results.direct is not None:
                return results
        searched = without_tags(text)
        cfg, nodes, tree, tsquery = _prepare(
            org_id, searched, prefix=prefix and prefix_last(searched)
        )
        if nodes == 0:
            return results
        estimate = None
        if staff and ({"tickets", "comments"} & set(wanted)):
            estimate = plan.estimate(org_id, tree)
            results.estimates = vars(estimate)
        params: dict[str, Any] = {
            "org": org_id, "me": user.id, "cfg": cfg, "q": searched,
            "tsquery": tsquery,
            "now": cursor.now if cursor else timezone.now(), "limit": limit + 1,
            "walk": WALK, "after_score": cursor.score if cursor else None,
            "after_id": cursor.id if cursor else None,
            "prefix": prefix and prefix_last(searched),
        }  # fmt: skip
        context = _Context(params=params, filters=filters, staff=staff, estimate=estimate)
        small = [kind for kind in wanted if kind in PARTS]
        pages = small_groups(context, small) if small else {}
        for kind in wanted:
            rows, how = GROUPS[kind](context) if kind in GROUPS else (pages[kind], "index")
            results.groups[kind] = _page(kind, rows, limit, params["now"], how)
        if staff and not any(g.items for g in results.groups.values()) and cursor is None:
            results.did_you_mean = _did_you_mean(org_id, text)
    return results


def _page(kind: str, rows: list[dict[str, Any]], limit: int, now: datetime, how: str) -> Group:
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(Cursor(kind, float(last["score"]), int(last["id"]), now))
    return Group(items=rows, next_cursor=next_cursor, plan=how)


def _prepare(org: int, text: str, *, prefix: bool = False) -> tuple[str, int, str, str]:
    """The organization's configuration, the parsed query's size, its indexable part and
    the query itself as text (the later statements cast it back: it is parsed once).

    With `prefix`, the query's last lexeme gets `:*` (`'webho'` becomes `'webho':*`);
    the caller checked that it comes from a plain last word (query.prefix_last).
    """
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT c.cfg::text, numnode(x.q), querytree(x.q), x.q::text"
            " FROM (SELECT search_config(%s) AS cfg) c,"
            " LATERAL (SELECT websearch_to_tsquery(c.cfg, %s) AS w) p,"
            " LATERAL (SELECT CASE WHEN %s AND p.w::text ~ '''$'"
            " THEN (p.w::text || ':*')::tsquery ELSE p.w END AS q) x",
            [org, text, prefix],
        )
        return cursor.fetchone()


def _direct_ticket(user: User, number: int) -> dict[str, Any] | None:
    rows = _rows(
        """SELECT t.id, t.number, t.subject, t.status, t.priority FROM tickets_ticket t
           WHERE t.organization_id = %(org)s AND t.number = %(number)s
             AND t.deleted_at IS NULL AND (%(staff)s OR t.customer_id = %(me)s)""",
        {"org": user.organization_id, "number": number, "me": user.id,
         "staff": is_staff_member(user)},
    )  # fmt: skip
    return rows[0] if rows else None


# ------------------------------------------------------------------ shared SQL pieces
QUERY = "(SELECT %(tsquery)s::tsquery AS q) q"
AFTER = (
    "(%(after_score)s::float8 IS NULL OR (s.score, s.id) < (%(after_score)s::float8, %(after_id)s))"
)


def _ticket_filters(filters: Filters, alias: str = "t") -> tuple[str, dict[str, Any]]:
    parts: list[str] = []
    params: dict[str, Any] = {}
    if filters.status:
        parts.append(f"{alias}.status = ANY(%(f_status)s)")
        params["f_status"] = list(filters.status)
    if filters.priority:
        parts.append(f"{alias}.priority = ANY(%(f_priority)s)")
        params["f_priority"] = list(filters.priority)
    if filters.assignee == "me":
        parts.append(f"{alias}.assignee_id = %(me)s")
    elif filters.assignee == "unassigned":
        parts.append(f"{alias}.assignee_id IS NULL")
    elif filters.assignee is not None:
        parts.append(f"{alias}.assignee_id = %(f_assignee)s")
        params["f_assignee"] = int(filters.assignee)
    if filters.created_after is not None:
        parts.append(f"{alias}.created_at >= %(f_after)s")
        params["f_after"] = filters.created_after
    if filters.created_before is not None:
        parts.append(f"{alias}.created_at < %(f_before)s")
        params["f_before"] = filters.created_before
    return "".join(f" AND {p}" for p in parts), params


def _visible_tickets(staff: bool, alias: str = "t") -> str:
    owner = "" if staff else f" AND {alias}.customer_id = %(me)s"
    return f"{alias}.organization_id = %(org)s AND {alias}.deleted_at IS NULL{owner}"


def _comment_kinds(staff: bool, alias: str = "c") -> str:
    return "" if staff else f" AND {alias}.kind = 'public'"


# ------------------------------------------------------------------ hits
@dataclass
class Hits:
    """Matching (ticket, rank, comment) rows found by one plan, before scoping and paging."""

    rows: list[tuple[int, float, int | None]]
    plan: str


def _walk(kind: str, params: dict[str, Any], where: str, extra: dict[str, Any]) -> list[tuple]:
    """The first WALK matches among the tenant's CAP newest documents or comments."""
    if kind == "documents":
        sql = f"""
        SELECT w.ticket_id, {RANK.format(vector="w.document")} AS rank, NULL::bigint
        FROM (SELECT d.ticket_id, d.document FROM search_ticketdocument d
              WHERE d.organization_id = %(org)s
              ORDER BY d.organization_id DESC, d.ticket_id DESC LIMIT %(cap)s) w
        CROSS JOIN {QUERY}
        JOIN tickets_ticket t ON t.id = w.ticket_id
        WHERE (w.document @@ q.q) IS TRUE AND {_visible_tickets(True)}{where}
        LIMIT %(walk)s"""
    else:
        sql = f"""
        SELECT w.ticket_id, {RANK.format(vector="w.search_vector")} AS rank, w.id
        FROM (SELECT c.id, c.ticket_id, c.search_vector FROM tickets_ticketcomment c
              WHERE c.organization_id = %(org)s AND c.deleted_at IS NULL
              ORDER BY c.organization_id DESC, c.id DESC LIMIT %(cap)s) w
        CROSS JOIN {QUERY}
        JOIN tickets_ticket t ON t.organization_id = %(org)s AND t.id = w.ticket_id
        WHERE (w.search_vector @@ q.q) IS TRUE AND {_visible_tickets(True)}{where}
        LIMIT %(walk)s"""
    with read_connection().cursor() as cursor:
        cursor.execute(sql, {**params, **extra, "cap": CAP[kind]})
        return cursor.fetchall()


def _index(kind: str, params: dict[str, Any]) -> list[tuple]:
    """Every match, from the GIN index (scoping and filters come with the page).

    Through the SECURITY DEFINER functions of the migration: under row-level
    security PostgreSQL would not use the GIN index for `@@` (not leakproof).
    """
    if kind == "documents":
        sql = f"""SELECT m.ticket_id, m.rank, NULL::bigint
                  FROM {QUERY} CROSS JOIN LATERAL search_match_documents(q.q) m"""
    else:
        sql = f"""SELECT m.ticket_id, m.rank, m.comment_id
                  FROM {QUERY} CROSS JOIN LATERAL search_match_comments(q.q) m"""
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _staff_hits(kind: str, params, filters: Filters, estimate: plan.Estimate) -> Hits:
    """Index plan for rare terms; the recent walk for frequent ones (module docstring)."""
    bound = estimate.documents if kind == "documents" else estimate.comments
    tenant_rows = estimate.tenant_documents if kind == "documents" else estimate.tenant_comments
    if bound <= INDEX_MAX[kind]:
        return Hits(_index(kind, params), "index")
    where, extra = _ticket_filters(filters)
    rows = _walk(kind, params, where, extra)
    if len(rows) >= WALK or tenant_rows <= CAP[kind]:
        return Hits(rows, "recent")
    # Fewer than WALK matches among the newest CAP rows: the term is rarer than its
    # bound said. Rank every match if that is still cheap, else keep the recent ones.
    # Not for a phrase: the index reads every row holding all its words (the bound),
    # however few hold them in order.
    if not estimate.phrase and len(rows) * tenant_rows / CAP[kind] <= INDEX_MAX[kind]:
        return Hits(_index(kind, params), "index")
    return Hits(rows, "recent")


def _customer_hits(params, filters: Filters) -> Hits:
    """A customer's own tickets and their public comments (a handful: no plan to pick)."""
    where, extra = _ticket_filters(filters)
    sql = f"""
    SELECT d.ticket_id, {RANK.format(vector="d.document")}, NULL::bigint
    FROM tickets_ticket t JOIN search_ticketdocument d ON d.ticket_id = t.id, {QUERY}
    WHERE {_visible_tickets(False)}{where} AND d.document @@ q.q
    UNION ALL
    SELECT c.ticket_id, {RANK.format(vector="c.search_vector")}, c.id
    FROM tickets_ticket t JOIN tickets_ticketcomment c
      ON c.organization_id = t.organization_id AND c.ticket_id = t.id, {QUERY}
    WHERE {_visible_tickets(False)}{where} AND c.deleted_at IS NULL
      AND c.kind = 'public' AND c.search_vector @@ q.q"""
    with read_connection().cursor() as cursor:
        cursor.execute(sql, {**params, **extra})
        return Hits(cursor.fetchall(), "own tickets")


def _hits(context: _Context) -> tuple[Hits, Hits]:
    """(document hits, comment hits), computed once for the ticket and comment groups."""
    if context.hits is None:
        if not context.staff:
            both = _customer_hits(context.params, context.filters)
            documents = Hits([r for r in both.rows if r[2] is None], both.plan)
            comments = Hits([r for r in both.rows if r[2] is not None], both.plan)
        else:
            estimate = context.estimate
            if estimate is None:  # search() makes one whenever staff look in tickets
                raise RuntimeError("a staff search of tickets without its row estimate")
            documents = _staff_hits("documents", context.params, context.filters, estimate)
            comments = _staff_hits("comments", context.params, context.filters, estimate)
        context.hits = (documents, comments)
    return context.hits


def _arrays(rows: list[tuple]) -> dict[str, list]:
    return {
        "h_ticket": [r[0] for r in rows],
        "h_rank": [float(r[1]) for r in rows],
        "h_comment": [r[2] for r in rows],
    }


HITS = "unnest(%(h_ticket)s::bigint[], %(h_rank)s::float8[], %(h_comment)s::bigint[])"


# ------------------------------------------------------------------ tickets
def ticket_group(context: _Context) -> tuple[list, str]:
    documents, comments = _hits(context)
    where, extra = _ticket_filters(context.filters)
    recency = RECENCY.format(column="t.updated_at")
    sql = f"""
    WITH hits AS (SELECT * FROM {HITS} AS h(ticket_id, rank, comment_id)),
    best AS (
        SELECT ticket_id, max(rank) AS rank, bool_or(comment_id IS NULL) AS in_ticket,
               (array_agg(comment_id ORDER BY rank DESC)
                    FILTER (WHERE comment_id IS NOT NULL))[1] AS comment_id
        FROM hits GROUP BY ticket_id
    ),
    page AS (
        SELECT s.* FROM (
            SELECT t.id, t.number, t.subject, t.description, t.status, t.priority,
                   t.assignee_id, t.created_at, t.updated_at, b.in_ticket, b.comment_id,
                   (b.rank * {recency})::float8 AS score
            FROM best b JOIN tickets_ticket t ON t.id = b.ticket_id
            WHERE {_visible_tickets(context.staff)}{where}
        ) s
        WHERE {AFTER}
        ORDER BY s.score DESC, s.id DESC LIMIT %(limit)s
    )
    SELECT p.id, p.number, p.status, p.priority, p.assignee_id, p.created_at, p.updated_at,
           p.score, CASE WHEN p.in_ticket THEN 'ticket' ELSE 'comment' END AS matched_in,
           p.comment_id, p.subject,
           ts_headline(%(cfg)s::regconfig, p.subject, q.q, '{SUBJECT_HEADLINE}') AS subject_hl,
           ts_headline(%(cfg)s::regconfig,
                       CASE WHEN p.in_ticket THEN p.description ELSE c.body_text END,
                       q.q, '{HEADLINE}') AS snippet
    FROM page p LEFT JOIN tickets_ticketcomment c ON c.id = p.comment_id, {QUERY}
    ORDER BY p.score DESC, p.id DESC
    """
    rows = _rows(sql, {**context.params, **extra, **_arrays(documents.rows + comments.rows)})
    for row in rows:
        row["subject_html"] = html_snippet(row.pop("subject_hl"))
        row["snippet"] = html_snippet(row["snippet"])
    return rows, f"documents: {documents.plan}, comments: {comments.plan}"


# ------------------------------------------------------------------ comments
def comment_group(context: _Context) -> tuple[list, str]:
    _, comments = _hits(context)
    where, extra = _ticket_filters(context.filters)
    recency = RECENCY.format(column="c.created_at")
    sql = f"""
    WITH hits AS (SELECT * FROM {HITS} AS h(ticket_id, rank, comment_id)),
    page AS (
        SELECT s.* FROM (
            SELECT c.id, t.number AS ticket_number, c.kind, c.author_id, c.created_at,
                   c.body_text, (h.rank * {recency})::float8 AS score
            FROM hits h JOIN tickets_ticketcomment c ON c.id = h.comment_id
            JOIN tickets_ticket t ON t.organization_id = c.organization_id AND t.id = c.ticket_id
            WHERE c.organization_id = %(org)s AND c.deleted_at IS NULL
              {_comment_kinds(context.staff)} AND {_visible_tickets(context.staff)}{where}
        ) s WHERE {AFTER}
        ORDER BY s.score DESC, s.id DESC LIMIT %(limit)s
    )
    SELECT p.id, p.ticket_number, p.kind, p.author_id, p.created_at, p.score,
           ts_headline(%(cfg)s::regconfig, p.body_text, q.q, '{HEADLINE}') AS snippet
    FROM page p, {QUERY} ORDER BY p.score DESC, p.id DESC
    """
    rows = _rows(sql, {**context.params, **extra, **_arrays(comments.rows)})
    for row in rows:
        row["snippet"] = html_snippet(row["snippet"])
    return rows, comments.plan


# ------------------------------------------------------------------ small groups
# Canned responses, people, attachments and the organization are small tables with
# a GIN index each: one statement answers all the groups asked for (a UNION ALL of
# their pages, each row as JSON), sparing a round trip per group.
def canned_part(context: _Context) -> tuple[str, dict[str, Any]]:
    return (
        f"""
    SELECT * FROM (
        SELECT r.id, r.name, r.owner_id IS NULL AS shared, m.rank::float8 AS score,
               ts_headline(%(cfg)s::regconfig, r.body, q.q, '{HEADLINE}') AS snippet
        FROM {QUERY} CROSS JOIN LATERAL search_match_rows('canned_responses', q.q) m
        JOIN tickets_cannedresponse r ON r.id = m.id
        WHERE r.organization_id = %(org)s AND r.deleted_at IS NULL
          AND (r.owner_id IS NULL OR r.owner_id = %(me)s)
    ) s WHERE {AFTER} ORDER BY s.score DESC, s.id DESC LIMIT %(limit)s""",
        {},
    )


def user_part(context: _Context) -> tuple[str, dict[str, Any]]:
    return (
        f"""
    SELECT * FROM (
        SELECT u.id, u.full_name, u.email, u.role, m.rank::float8 AS score
        FROM {QUERY} CROSS JOIN LATERAL search_match_rows('users', q.q) m
        JOIN accounts_user u ON u.id = m.id
        WHERE u.organization_id = %(org)s AND u.deleted_at IS NULL
    ) s WHERE {AFTER} ORDER BY s.score DESC, s.id DESC LIMIT %(limit)s""",
        {},
    )


def attachment_part(context: _Context) -> tuple[str, dict[str, Any]]:
    where, extra = _ticket_filters(context.filters)
    customer = (
        ""
        if context.staff
        else " AND (a.comment_id IS NULL OR EXISTS (SELECT 1 FROM"
        " tickets_ticketcomment c WHERE c.id = a.comment_id AND c.kind = 'public'"
        " AND c.deleted_at IS NULL))"
    )
    return (
        f"""
    SELECT * FROM (
        SELECT a.id, a.file_name, a.content_type, a.size, t.number AS ticket_number,
               m.rank::float8 AS score
        FROM {QUERY} CROSS JOIN LATERAL search_match_rows('attachments', q.q) m
        JOIN tickets_ticketattachment a ON a.id = m.id
        JOIN tickets_ticket t ON t.organization_id = a.organization_id AND t.id = a.ticket_id
        WHERE a.organization_id = %(org)s
          AND {_visible_tickets(context.staff)}{where}{customer}
    ) s WHERE {AFTER} ORDER BY s.score DESC, s.id DESC LIMIT %(limit)s""",
        extra,
    )


def organization_part(context: _Context) -> tuple[str, dict[str, Any]]:
    # The caller's own organization only (row-level security agrees).
    return (
        f"""
    SELECT * FROM (
        SELECT o.id, o.name, o.slug, m.rank::float8 AS score
        FROM {QUERY} CROSS JOIN LATERAL search_match_rows('organizations', q.q) m
        JOIN organizations_organization o ON o.id = m.id
        WHERE o.id = %(org)s AND o.deleted_at IS NULL
    ) s WHERE {AFTER} ORDER BY s.score DESC, s.id DESC LIMIT %(limit)s""",
        {},
    )


def article_part(context: _Context) -> tuple[str, dict[str, Any]]:
    """Published knowledge base articles of every visibility (staff only), each once: its
    best matching translation, the text parsed in each language's own configuration as
    the help center does (docs/knowledge-base.md); snippets for the page's rows only."""
    return (
        f"""
    SELECT p.id, p.language, p.title, p.section, p.category, p.score,
           ts_headline(knowledge_config(p.language), r.body, p.q, '{HEADLINE}') AS snippet
    FROM (
        SELECT * FROM (
            SELECT DISTINCT ON (t.article_id) t.article_id AS id, t.language,
                   t.search_title AS title, t.published_revision_id, s.name AS section,
                   c.name AS category, m.rank::float8 AS score, l.q
            FROM (SELECT k.language,
                         CASE WHEN %(prefix)s AND w.q::text ~ '''$'
                              THEN (w.q::text || ':*')::tsquery ELSE w.q END AS q
                  FROM (SELECT DISTINCT language FROM knowledge_translation
                        WHERE organization_id = %(org)s AND search_vector IS NOT NULL) k
                  CROSS JOIN LATERAL (SELECT websearch_to_tsquery(
                      knowledge_config(k.language), %(q)s) AS q) w) l
            CROSS JOIN LATERAL knowledge_match(l.q, l.language) m
            JOIN knowledge_translation t ON t.id = m.translation_id
            JOIN knowledge_article a ON a.id = t.article_id
            JOIN knowledge_section s ON s.id = a.section_id
            JOIN knowledge_category c ON c.id = s.category_id
            WHERE t.organization_id = %(org)s AND a.deleted_at IS NULL
              AND s.deleted_at IS NULL AND c.deleted_at IS NULL
            ORDER BY t.article_id, m.rank DESC, (t.language = a.language) DESC
        ) s WHERE {AFTER} ORDER BY s.score DESC, s.id DESC LIMIT %(limit)s
    ) p JOIN knowledge_revision r ON r.id = p.published_revision_id
    ORDER BY p.score DESC, p.id DESC""",
        {},
    )


PARTS = {
    "articles": article_part,
    "canned_responses": canned_part,
    "users": user_part,
    "attachments": attachment_part,
    "organizations": organization_part,
}


def small_groups(context: _Context, kinds: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The pages of the small groups in `kinds`, in one statement."""
    selects, params = [], dict(context.params)
    for kind in kinds:
        sql, extra = PARTS[kind](context)
        selects.append(f"(SELECT %(kind_{kind})s AS kind, to_jsonb(x) AS row FROM ({sql}) x)")
        params.update(extra)
        params[f"kind_{kind}"] = kind
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for row in _rows(" UNION ALL ".join(selects), params):
        # Django reads jsonb as text (it decodes JSONField values itself).
        item = json.loads(row["row"]) if isinstance(row["row"], str) else row["row"]
        if "snippet" in item:
            item["snippet"] = html_snippet(item["snippet"])
        found[row["kind"]].append(item)
    for items in found.values():
        items.sort(key=lambda item: (-item["score"], -item["id"]))
    return found


GROUPS = {"tickets": ticket_group, "comments": comment_group}


# ------------------------------------------------------------------ did you mean
def _did_you_mean(org: int, text: str) -> str | None:
    """Each word not in the tenant's vocabulary replaced by its nearest trigram neighbour."""
    found = words(text)
    if not found:
        return None
    rows = _rows(
        "SELECT * FROM search_nearest_words(%(words)s::text[]) ORDER BY ord",
        {"words": found},
    )
    fixed = [r["word"] if r["known"] or not r["nearest"] else r["nearest"] for r in rows]
    return " ".join(fixed) if fixed != found else None


# ------------------------------------------------------------------ suggestions
SUGGEST_LIMIT = 10


@replica_read
def suggest(*, user: User, text: str, limit: int = SUGGEST_LIMIT) -> list[dict[str, Any]]:
    """Completions of what is typed: subjects, canned response names, customers, organization.

    Query budget: 1. Sources are small tables or partial trigram indexes: distinct
    subjects (search_subject), not the tickets themselves. A customer gets the
    subjects of their own tickets only.
    """
    if len(text) < 2:
        return []
    params = {
        "org": user.organization_id, "me": user.id, "q": text, "limit": limit,
        "prefix": like_pattern(text) + "%", "word": "% " + like_pattern(text) + "%",
        "contains": "%" + like_pattern(text) + "%",
    }  # fmt: skip
    # Starts with the text, then a word starts with it, then contains it; shorter first.
    order = (
        "ORDER BY (text ILIKE %(prefix)s) DESC, (text ILIKE %(word)s) DESC,"
        " similarity(text, %(q)s) DESC, length(text), text LIMIT %(limit)s"
    )
    if is_staff_member(user):
        # Subjects, canned responses and customers through the SECURITY DEFINER
        # function (trigram indexes; ILIKE is not leakproof under row-level security).
        sql = """
        SELECT kind AS type, id, text FROM search_suggestions(%(contains)s, %(prefix)s, %(me)s,
                                                            %(limit)s)
        UNION ALL
        (SELECT 'organization', id, name FROM organizations_organization
         WHERE id = %(org)s AND name ILIKE %(contains)s LIMIT 1)
        """
    else:
        sql = f"""
        SELECT 'subject' AS type, NULL::bigint AS id, subject AS text FROM (
            SELECT DISTINCT subject FROM tickets_ticket
            WHERE organization_id = %(org)s AND customer_id = %(me)s AND deleted_at IS NULL
              AND subject ILIKE %(contains)s) s
        {order.replace("text", "subject")}"""
    with tenant(user.organization_id, user, savepoint=False):
        rows = _rows(sql, params)
    rows.sort(key=lambda r: _suggestion_order(r["text"], text))
    return rows[:limit]


def _suggestion_order(candidate: str, typed: str) -> tuple[int, int, str]:
    low, typed = candidate.lower(), typed.lower()
    if low.startswith(typed):
        rank = 0
    elif f" {typed}" in low:
        rank = 1
    else:
        rank = 2
    return rank, len(candidate), low
