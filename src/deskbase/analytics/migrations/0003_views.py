"""The seven materialized views of docs/analytics.md, each with a unique index (so it can
be refreshed CONCURRENTLY). Soft-deleted tickets are left out everywhere.

Every view is keyed by organization and a local day (the organization's time zone,
read at refresh time) plus its own dimensions; absent dimensions are 0 (no team, no
category, unassigned), never NULL, so the unique index matches every row. Counts and
sums only: averages and percentages are computed from them at read time
(deskbase.analytics.metrics), so any date range adds up exactly.

The views read every tenant (they are refreshed by the owner role, whose policy sees
all rows) and have no row-level security: deskbase.analytics.selectors always filters
by the caller's organization.
"""

# ruff: noqa: S608 - SQL text is assembled only from this module's constants (view,
# column and table names); every value is a bound parameter.

from __future__ import annotations

from django.db import migrations

# The facts of each live ticket, shared by the views (one CTE list, pasted into each).
FACTS = """
WITH org AS (
    SELECT o.id, o.timezone, o.business_hours,
           coalesce((SELECT array_agg(h.date) FROM organizations_holiday h
                     WHERE h.organization_id = o.id), '{}') AS holidays,
           (now() AT TIME ZONE o.timezone)::date AS today
    FROM organizations_organization o
),
sla AS (
    SELECT e.organization_id, e.ticket_id,
           bool_or(e.kind = 'met' AND e.target = 'first_response') AS fr_met,
           bool_or(e.kind = 'breached' AND e.target = 'first_response') AS fr_breached,
           bool_or(e.kind = 'met' AND e.target = 'resolution') AS res_met,
           bool_or(e.kind = 'breached' AND e.target = 'resolution') AS res_breached
    FROM sla_slaevent e WHERE e.kind IN ('met', 'breached')
    GROUP BY 1, 2
),
reopened AS (
    SELECT DISTINCT h.organization_id, h.ticket_id FROM tickets_tickethistory h
    WHERE h.field = 'status' AND h.old_value = 'resolved' AND h.new_value = 'open'
),
facts AS (
    SELECT t.organization_id, t.id, t.created_at, t.first_response_at, t.resolved_at,
           (t.created_at AT TIME ZONE org.timezone)::date AS day,
           (t.resolved_at AT TIME ZONE org.timezone)::date AS resolved_day,
           coalesce(t.team_id, 0) AS team_id, coalesce(t.assignee_id, 0) AS assignee_id,
           t.customer_id, t.channel, coalesce(t.category_id, 0) AS category_id, t.priority,
           t.sla_policy_id,
           t.status IN ('new', 'open', 'pending') AS active,
           t.resolved_at IS NOT NULL AND t.merged_into_id IS NULL AS resolved,
           r.ticket_id IS NOT NULL AS reopened,
           extract(epoch FROM t.first_response_at - t.created_at)::double precision
               AS first_response_s,
           CASE WHEN t.resolved_at IS NOT NULL AND t.merged_into_id IS NULL
                THEN extract(epoch FROM t.resolved_at - t.created_at)::double precision
           END AS resolution_s,
           s.ticket_id IS NOT NULL AS sla_settled,
           coalesce(s.fr_breached OR s.res_breached, false) AS sla_breached,
           coalesce(s.fr_met AND NOT s.fr_breached, false) AS fr_met,
           coalesce(s.fr_breached, false) AS fr_breached,
           coalesce(s.res_met AND NOT s.res_breached, false) AS res_met,
           coalesce(s.res_breached, false) AS res_breached,
           t.satisfaction,
           org.timezone, org.business_hours, org.holidays, org.today
    FROM tickets_ticket t
    JOIN org ON org.id = t.organization_id
    LEFT JOIN sla s ON s.organization_id = t.organization_id AND s.ticket_id = t.id
    LEFT JOIN reopened r ON r.organization_id = t.organization_id AND r.ticket_id = t.id
    WHERE t.deleted_at IS NULL
)
"""

# The ticket metrics of a group of tickets (by creation day): counts and sums only.
METRICS = """
    count(*)::int AS tickets,
    count(*) FILTER (WHERE active)::int AS active,
    count(*) FILTER (WHERE resolved)::int AS resolved,
    count(*) FILTER (WHERE resolved OR reopened)::int AS ever_resolved,
    count(*) FILTER (WHERE reopened)::int AS reopened,
    count(first_response_s)::int AS first_response_count,
    coalesce(sum(first_response_s), 0) AS first_response_seconds,
    count(resolution_s)::int AS resolution_count,
    coalesce(sum(resolution_s), 0) AS resolution_seconds,
    count(*) FILTER (WHERE sla_settled)::int AS sla_tickets,
    count(*) FILTER (WHERE sla_breached)::int AS sla_breached,
    count(satisfaction)::int AS csat_count,
    coalesce(sum(satisfaction), 0)::int AS csat_sum,
    count(*) FILTER (WHERE satisfaction = 1)::int AS csat_1,
    count(*) FILTER (WHERE satisfaction = 2)::int AS csat_2,
    count(*) FILTER (WHERE satisfaction = 3)::int AS csat_3,
    count(*) FILTER (WHERE satisfaction = 4)::int AS csat_4,
    count(*) FILTER (WHERE satisfaction = 5)::int AS csat_5
"""


def _cube(keys: str) -> str:
    return f"{FACTS} SELECT {keys}, {METRICS} FROM facts GROUP BY {keys}"


AGENT = f"""{FACTS},
events AS (
    SELECT organization_id, resolved_day AS day, assignee_id AS agent_id, team_id,
           1 AS handled, first_response_s, resolution_s, sla_settled, sla_breached,
           satisfaction, 0 AS replies, 0 AS notes
    FROM facts WHERE resolved AND assignee_id <> 0
    UNION ALL
    SELECT c.organization_id, (c.created_at AT TIME ZONE org.timezone)::date, c.author_id,
           coalesce(t.team_id, 0), 0, NULL, NULL, false, false, NULL,
           (c.kind = 'public')::int, (c.kind = 'internal')::int
    FROM tickets_ticketcomment c
    JOIN tickets_ticket t ON t.id = c.ticket_id AND t.organization_id = c.organization_id
    JOIN accounts_user u ON u.id = c.author_id
    JOIN org ON org.id = c.organization_id
    WHERE c.deleted_at IS NULL AND t.deleted_at IS NULL
      AND c.kind IN ('public', 'internal') AND u.role IN ('admin', 'manager', 'agent')
)
SELECT organization_id, day, agent_id, team_id,
       sum(handled)::int AS handled,
       sum(replies)::int AS replies,
       sum(notes)::int AS notes,
       count(first_response_s)::int AS first_response_count,
       coalesce(sum(first_response_s), 0) AS first_response_seconds,
       count(resolution_s)::int AS resolution_count,
       coalesce(sum(resolution_s), 0) AS resolution_seconds,
       count(*) FILTER (WHERE sla_settled)::int AS sla_tickets,
       count(*) FILTER (WHERE sla_breached)::int AS sla_breached,
       count(satisfaction)::int AS csat_count,
       coalesce(sum(satisfaction), 0)::int AS csat_sum
FROM events GROUP BY 1, 2, 3, 4
"""

# Business time without a per-ticket calendar walk: the open spans of each organization
# (its weekly hours read in its zone, holidays left out) over the days its tickets
# cover, each with the open seconds before it. The open time before an instant is
# then `before` of the last span opening at or before it, plus its part of that span;
# the business time between two instants is the difference. The instants and the
# spans are merged in one sort per organization.
SLA = f"""{FACTS},
ranges AS (
    SELECT organization_id, min(created_at) AS first FROM tickets_ticket GROUP BY 1
),
spans AS (
    SELECT org.id AS organization_id,
           (d::date + (span ->> 0)::time) AT TIME ZONE org.timezone AS opens,
           (d::date + (span ->> 1)::time) AT TIME ZONE org.timezone AS closes
    FROM org JOIN ranges r ON r.organization_id = org.id
    CROSS JOIN LATERAL generate_series((r.first AT TIME ZONE org.timezone)::date,
                                       org.today + 1, interval '1 day') AS d
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(org.business_hours -> (ARRAY['mon',
        'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])[extract(isodow FROM d)::int],
        '[]'::jsonb)) AS span
    WHERE NOT d::date = ANY (org.holidays)
),
cumulative AS (
    SELECT organization_id, opens, closes,
           coalesce(sum(extract(epoch FROM closes - opens)::double precision) OVER (
               PARTITION BY organization_id ORDER BY opens
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM spans WHERE closes > opens
),
points AS (
    SELECT organization_id, id, 0 AS kind, created_at AS at FROM facts
    WHERE sla_policy_id IS NOT NULL
    UNION ALL
    SELECT organization_id, id, 1, first_response_at FROM facts
    WHERE sla_policy_id IS NOT NULL AND first_response_at IS NOT NULL
    UNION ALL
    SELECT organization_id, id, 2, resolved_at FROM facts
    WHERE sla_policy_id IS NOT NULL AND resolution_s IS NOT NULL
),
merged AS (
    SELECT organization_id, at, 1 AS is_point, id, kind,
           NULL::timestamptz AS opens, NULL::timestamptz AS closes,
           NULL::double precision AS before
    FROM points
    UNION ALL
    SELECT organization_id, opens, 0, NULL, NULL, opens, closes, before FROM cumulative
),
grouped AS (
    SELECT *, count(opens) OVER (PARTITION BY organization_id ORDER BY at, is_point) AS grp
    FROM merged
),
valued AS (
    SELECT id, kind, at,
           max(opens) OVER w AS span_opens, max(closes) OVER w AS span_closes,
           max(before) OVER w AS span_before, is_point
    FROM grouped
    WINDOW w AS (PARTITION BY organization_id, grp)
),
open_before AS (
    SELECT id, kind,
           coalesce(span_before + greatest(0, extract(epoch FROM
               least(at, span_closes) - span_opens)::double precision), 0) AS seconds
    FROM valued WHERE is_point = 1
),
business AS (
    SELECT id,
           max(seconds) FILTER (WHERE kind = 1) - max(seconds) FILTER (WHERE kind = 0)
               AS first_response_business_s,
           max(seconds) FILTER (WHERE kind = 2) - max(seconds) FILTER (WHERE kind = 0)
               AS resolution_business_s
    FROM open_before GROUP BY id
)
SELECT organization_id, day, priority, team_id,
       count(*)::int AS tickets,
       count(*) FILTER (WHERE sla_settled)::int AS sla_tickets,
       count(*) FILTER (WHERE sla_breached)::int AS sla_breached,
       count(*) FILTER (WHERE fr_met)::int AS first_response_met,
       count(*) FILTER (WHERE fr_breached)::int AS first_response_breached,
       count(*) FILTER (WHERE res_met)::int AS resolution_met,
       count(*) FILTER (WHERE res_breached)::int AS resolution_breached,
       count(first_response_s)::int AS first_response_count,
       coalesce(sum(first_response_s), 0) AS first_response_seconds,
       coalesce(sum(b.first_response_business_s), 0) AS first_response_business_seconds,
       count(resolution_s)::int AS resolution_count,
       coalesce(sum(resolution_s), 0) AS resolution_seconds,
       coalesce(sum(b.resolution_business_s), 0) AS resolution_business_seconds
FROM facts f LEFT JOIN business b ON b.id = f.id
WHERE f.sla_policy_id IS NOT NULL
GROUP BY 1, 2, 3, 4
"""

TRENDS = f"""{FACTS},
events AS (
    SELECT organization_id, day, channel, team_id, category_id, today,
           1 AS created, 0 AS resolved, 0 AS closed, 0 AS reopened
    FROM facts
    UNION ALL
    SELECT organization_id, resolved_day, channel, team_id, category_id, today, 0, 1, 0, 0
    FROM facts WHERE resolved
    UNION ALL
    SELECT f.organization_id, (t.closed_at AT TIME ZONE f.timezone)::date, f.channel,
           f.team_id, f.category_id, f.today, 0, 0, 1, 0
    FROM facts f JOIN tickets_ticket t ON t.id = f.id
    WHERE t.status = 'closed' AND t.closed_at IS NOT NULL
    UNION ALL
    SELECT f.organization_id, (h.created_at AT TIME ZONE f.timezone)::date, f.channel,
           f.team_id, f.category_id, f.today, 0, 0, 0, 1
    FROM tickets_tickethistory h
    JOIN facts f ON f.organization_id = h.organization_id AND f.id = h.ticket_id
    WHERE h.field = 'status' AND h.old_value = 'resolved' AND h.new_value = 'open'
)
SELECT organization_id, day, channel, team_id, category_id,
       sum(created)::int AS created, sum(resolved)::int AS resolved,
       sum(closed)::int AS closed, sum(reopened)::int AS reopened
FROM events WHERE day > today - 90 AND day <= today
GROUP BY 1, 2, 3, 4, 5
"""

VIEWS = {
    "dashboard_stats": (
        _cube("organization_id, day, team_id, assignee_id, channel, category_id"),
        "organization_id, day, team_id, assignee_id, channel, category_id",
    ),
    "agent_performance_stats": (AGENT, "organization_id, day, agent_id, team_id"),
    "customer_stats": (
        _cube("organization_id, day, customer_id, channel"),
        "organization_id, day, customer_id, channel",
    ),
    "sla_performance_stats": (SLA, "organization_id, day, priority, team_id"),
    "ticket_trends": (TRENDS, "organization_id, day, channel, team_id, category_id"),
    "channel_performance_stats": (
        _cube("organization_id, day, channel, team_id"),
        "organization_id, day, channel, team_id",
    ),
    "category_performance_stats": (
        _cube("organization_id, day, category_id, team_id"),
        "organization_id, day, category_id, team_id",
    ),
}


def _create(name: str, query: str, key: str) -> migrations.RunSQL:
    # WITH DATA: a view is always readable (an unpopulated one is an error to read, and
    # cannot be refreshed CONCURRENTLY); on a large database the migrate takes one refresh.
    return migrations.RunSQL(
        f"CREATE MATERIALIZED VIEW {name} AS {query} WITH DATA;"
        f"CREATE UNIQUE INDEX {name}_key ON {name} ({key});",
        f"DROP MATERIALIZED VIEW IF EXISTS {name};",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_live_indexes"),
        ("accounts", "0005_api_token_rules"),
        # The views read ticket history: after it became a partitioned table (a view
        # on the old table would stop that migration from dropping it).
        ("tickets", "0005_partition_history"),
    ]

    operations = [
        *[_create(name, query, key) for name, (query, key) in VIEWS.items()],
    ]
