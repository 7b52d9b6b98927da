"""The live ticket counts: read, checked against a full recount, repaired, compacted.

The counts are written by the triggers of migration 0001 (one row per writing
connection and key, `shard` = its backend pid). Run these as the owner role
(management commands do): its row-level security policy sees every tenant.
"""

# ruff: noqa: S608 - SQL text is assembled only from this module's constants (view,
# column and table names); every value is a bound parameter.

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import connection, transaction

KEY = ("status", "priority", "team_id", "assigned", "sla")

# The count of every live ticket, by key, straight from tickets_ticket.
RECOUNT = """
    SELECT t.organization_id, k.status, k.priority, k.team_id, k.assigned, k.sla,
           count(*) AS tickets
    FROM tickets_ticket t,
         LATERAL analytics_count_key(t.status, t.priority, t.team_id, t.assignee_id,
             t.sla_paused_at, t.first_response_at, t.first_response_due_at,
             t.resolution_due_at) k
    WHERE t.deleted_at IS NULL {where}
    GROUP BY 1, 2, 3, 4, 5, 6
"""
STORED = """
    SELECT organization_id, status, priority, team_id, assigned, sla, sum(tickets) AS tickets
    FROM analytics_ticket_counts WHERE true {where}
    GROUP BY 1, 2, 3, 4, 5, 6
"""
COMPARE = """
    SELECT organization_id, status, priority, team_id, assigned, sla,
           coalesce(r.tickets, 0), coalesce(s.tickets, 0)
    FROM ({recount}) r FULL JOIN ({stored}) s
         USING (organization_id, status, priority, team_id, assigned, sla)
    WHERE coalesce(r.tickets, 0) <> coalesce(s.tickets, 0)
    ORDER BY 1, 2, 3, 4, 5, 6
"""
# Serializes compaction and repair (they rewrite shard 0); ticket writers never take it.
LOCK_KEY = 0x616E616C  # "anal"


@dataclass(frozen=True)
class Mismatch:
    organization_id: int
    status: str
    priority: str
    team_id: int
    assigned: bool
    sla: str
    expected: int
    stored: int

    def as_json(self) -> dict:
        return {
            "organization_id": self.organization_id, "status": self.status,
            "priority": self.priority or None, "team_id": self.team_id or None,
            "assigned": self.assigned, "sla": self.sla or None, "expected": self.expected,
            "stored": self.stored,
        }  # fmt: skip


@dataclass
class Report:
    """What `check` found: the keys whose stored count differs from the recount."""

    organizations: int
    mismatches: list[Mismatch] = field(default_factory=list)
    repaired: bool = False
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def wrong_organizations(self) -> list[int]:
        return sorted({m.organization_id for m in self.mismatches})

    def as_json(self) -> dict:
        return {
            "ok": self.ok, "organizations_checked": self.organizations,
            "organizations_wrong": self.wrong_organizations, "repaired": self.repaired,
            "duration_ms": round(self.duration_ms, 1),
            "mismatches": [m.as_json() for m in self.mismatches],
        }  # fmt: skip


def _where(organization_id: int | None, alias: str = "") -> tuple[str, list]:
    if organization_id is None:
        return "", []
    return f"AND {alias}organization_id = %s", [organization_id]


def check(repair: bool = False, *, organization_id: int | None = None) -> Report:
    """Compare the counts with a full recount, per organization; `repair` rewrites the
    wrong organizations' counts from the recount (ticket writes wait meanwhile)."""
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if repair:
            # Writers hold ROW EXCLUSIVE on the counts until they commit: EXCLUSIVE waits
            # for them, then holds new ones back, so the recount sees every committed
            # ticket and no delta lands between the recount and the rewrite.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            cursor.execute("LOCK TABLE analytics_ticket_counts IN EXCLUSIVE MODE")
        mismatches = _compare(cursor, organization_id)
        cursor.execute(
            "SELECT count(*) FROM organizations_organization"
            + (" WHERE id = %s" if organization_id is not None else ""),
            [] if organization_id is None else [organization_id],
        )
        report = Report(organizations=cursor.fetchone()[0], mismatches=mismatches)
        if repair and mismatches:
            for org in report.wrong_organizations:
                _rewrite(cursor, org)
            report.repaired = True
    report.duration_ms = (time.perf_counter() - began) * 1000
    return report


def _compare(cursor, organization_id: int | None) -> list[Mismatch]:
    where_t, params = _where(organization_id, "t.")
    where_s, params_s = _where(organization_id)
    statement = COMPARE.format(
        recount=RECOUNT.format(where=where_t), stored=STORED.format(where=where_s)
    )
    cursor.execute(statement, [*params, *params_s])
    return [
        Mismatch(org, status, priority, team, assigned, sla, int(expected), int(stored))
        for org, status, priority, team, assigned, sla, expected, stored in cursor.fetchall()
    ]


def _rewrite(cursor, organization_id: int | None) -> None:
    where_t, params = _where(organization_id, "t.")
    where_c, params_c = _where(organization_id)
    cursor.execute(f"DELETE FROM analytics_ticket_counts WHERE true {where_c}", params_c)
    cursor.execute(
        "INSERT INTO analytics_ticket_counts"
        " (organization_id, status, priority, team_id, assigned, sla, shard, tickets)"
        " SELECT organization_id, status, priority, team_id, assigned, sla, 0, tickets"
        f" FROM ({RECOUNT.format(where=where_t)}) r",
        params,
    )


def rebuild(cursor) -> None:
    """Every organization's counts from a recount, in the caller's transaction (bulk loads,
    which write tickets with the INSERT trigger disabled and hold the tables locked)."""
    _rewrite(cursor, None)


def compact() -> int:
    """Fold the rows of connections that have ended into shard 0; drop zero rows.

    Returns the number of rows removed. Live connections keep their rows: folding a
    row that its connection is updating would make the two wait for each other.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute(
            """
            WITH gone AS (
                DELETE FROM analytics_ticket_counts c
                WHERE c.shard <> 0
                  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = c.shard)
                RETURNING c.*
            ), folded AS (
                INSERT INTO analytics_ticket_counts AS c
                    (organization_id, status, priority, team_id, assigned, sla, shard, tickets)
                SELECT organization_id, status, priority, team_id, assigned, sla, 0,
                       sum(tickets)
                FROM gone GROUP BY 1, 2, 3, 4, 5, 6
                ORDER BY 1, 2, 3, 4, 5, 6
                ON CONFLICT (organization_id, status, priority, team_id, assigned, sla, shard)
                DO UPDATE SET tickets = c.tickets + EXCLUDED.tickets
            )
            SELECT count(*) FROM gone
            """
        )
        removed = cursor.fetchone()[0]
        cursor.execute("DELETE FROM analytics_ticket_counts WHERE shard = 0 AND tickets = 0")
        return removed + cursor.rowcount
