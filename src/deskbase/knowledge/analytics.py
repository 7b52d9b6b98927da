"""Knowledge base analytics over the last N days (managers and admins).

Each figure is one query led by the tenant: views from the monthly-partitioned view log
(pruned to the period's partitions by viewed_at), "helpful" answers from the feedback
table, searches that found nothing from the search log (type `articles`), deflection
from the new-ticket attempts, and stale articles (published, not changed for N months).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant

ANALYSTS = (Role.ADMIN, Role.MANAGER)
MAX_DAYS = 366


def _rows(user: User, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"org": user.organization_id, **params})
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


TOP_VIEWED = """
SELECT v.article_id, count(*) AS views, count(DISTINCT v.visitor) AS visitors,
       (SELECT t.title FROM knowledge_translation t WHERE t.article_id = v.article_id
          AND t.organization_id = v.organization_id ORDER BY t.id LIMIT 1) AS title
FROM knowledge_articleview v
WHERE v.organization_id = %(org)s AND v.viewed_at >= now() - make_interval(days => %(days)s)
GROUP BY v.organization_id, v.article_id ORDER BY views DESC, v.article_id LIMIT %(limit)s
"""
TOTAL_VIEWS = """
SELECT count(*) AS views, count(DISTINCT visitor) AS visitors FROM knowledge_articleview
WHERE organization_id = %(org)s AND viewed_at >= now() - make_interval(days => %(days)s)
"""
# Every day of the period (UTC), today last, with no view a 0: what the chart draws.
VIEWS_BY_DAY = """
SELECT d.day::date AS day, coalesce(v.views, 0) AS views, coalesce(v.visitors, 0) AS visitors
FROM generate_series((now() AT TIME ZONE 'UTC')::date - (%(days)s - 1),
                     (now() AT TIME ZONE 'UTC')::date, interval '1 day') d(day)
LEFT JOIN (
    SELECT (viewed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS views,
           count(DISTINCT visitor) AS visitors
    FROM knowledge_articleview
    WHERE organization_id = %(org)s
      AND viewed_at >= ((now() AT TIME ZONE 'UTC')::date - (%(days)s - 1)) AT TIME ZONE 'UTC'
    GROUP BY 1
) v ON v.day = d.day::date
ORDER BY d.day
"""
HELPFUL = """
SELECT f.article_id, count(*) FILTER (WHERE f.helpful) AS helpful,
       count(*) FILTER (WHERE NOT f.helpful) AS not_helpful,
       round(avg(f.helpful::int), 3)::float8 AS ratio,
       (SELECT t.title FROM knowledge_translation t WHERE t.article_id = f.article_id
          AND t.organization_id = f.organization_id ORDER BY t.id LIMIT 1) AS title
FROM knowledge_feedback f
WHERE f.organization_id = %(org)s AND f.created_at >= now() - make_interval(days => %(days)s)
GROUP BY f.organization_id, f.article_id ORDER BY ratio, not_helpful DESC, f.article_id
LIMIT %(limit)s
"""
ZERO_RESULTS = """
SELECT query, count(*) AS searches, max(created_at) AS last_searched_at FROM search_searchlog
WHERE organization_id = %(org)s AND created_at >= now() - make_interval(days => %(days)s)
  AND types = 'articles' AND result_count = 0 AND query <> ''
GROUP BY query ORDER BY searches DESC, query LIMIT %(limit)s
"""
DEFLECTION = """
SELECT count(DISTINCT attempt) FILTER (WHERE event = 'shown') AS shown,
       count(DISTINCT attempt) FILTER (WHERE event = 'clicked') AS clicked,
       count(DISTINCT attempt) FILTER (WHERE event = 'solved') AS solved,
       count(DISTINCT attempt) FILTER (WHERE event = 'sent_anyway') AS sent_anyway
FROM knowledge_deflection
WHERE organization_id = %(org)s AND created_at >= now() - make_interval(days => %(days)s)
"""
STALE = """
SELECT t.article_id, t.language, t.title, t.updated_at FROM knowledge_translation t
JOIN knowledge_article a ON a.id = t.article_id AND a.organization_id = t.organization_id
WHERE t.organization_id = %(org)s AND t.published_revision_id IS NOT NULL
  AND a.deleted_at IS NULL AND t.updated_at < now() - make_interval(months => %(months)s)
ORDER BY t.updated_at, t.id LIMIT %(limit)s
"""


@dataclass
class Report:
    days: int
    views: int
    visitors: int
    views_by_day: list[dict[str, Any]]
    top_viewed: list[dict[str, Any]]
    least_helpful: list[dict[str, Any]]
    zero_result_searches: list[dict[str, Any]]
    deflection: dict[str, Any]
    stale_months: int
    stale: list[dict[str, Any]]


def report(*, user: User, days: int = 30, stale_months: int = 6, limit: int = 20) -> Report:
    """Every figure of the knowledge base's analytics. 7 queries."""
    if user.role not in ANALYSTS:
        raise PermissionDenied(
            gettext("only managers and admins may read knowledge base analytics")
        )
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed.one(
            "days", gettext("Choose 1 to %(max_days)s days.") % {"max_days": MAX_DAYS}
        )
    if not 1 <= stale_months <= 120:
        raise ValidationFailed.one("stale_months", gettext("Choose 1 to 120 months."))
    params = {"days": days, "limit": limit, "months": stale_months}
    with tenant(user.organization_id, user, savepoint=False):
        (total,) = _rows(user, TOTAL_VIEWS, params)
        deflection = _rows(user, DEFLECTION, params)[0]
        shown = deflection["shown"]
        deflection["rate"] = round(deflection["solved"] / shown, 4) if shown else None
        return Report(
            days=days, views=total["views"], visitors=total["visitors"],
            views_by_day=_rows(user, VIEWS_BY_DAY, params),
            top_viewed=_rows(user, TOP_VIEWED, params),
            least_helpful=_rows(user, HELPFUL, params),
            zero_result_searches=_rows(user, ZERO_RESULTS, params),
            deflection=deflection, stale_months=stale_months, stale=_rows(user, STALE, params),
        )  # fmt: skip
