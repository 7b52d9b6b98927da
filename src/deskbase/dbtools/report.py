"""`deskbase dbreport`: how the database is doing, and what to change (docs/monitoring.md).

Every section is one read of PostgreSQL's statistics views, so the report is
cheap to run beside live traffic. A section that cannot be read (an external
server without pg_stat_statements, a role without the rights) says why and the
rest of the report still comes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction

from deskbase.core import cache as cachelayer

# A table is "big" from this many live rows: below it a sequential scan is fine.
BIG_TABLE_ROWS = 10_000
# ... and "read mostly by sequential scans" when they read this many rows on average.
SEQ_ROWS_PER_SCAN = 1_000


@dataclass
class Report:
    database: str = ""
    stats_since: str | None = None
    statements_available: bool = False
    statements_message: str = ""
    top_by_total: list[dict] = field(default_factory=list)
    top_by_mean: list[dict] = field(default_factory=list)
    cache_hit_ratio: dict = field(default_factory=dict)
    tables: list[dict] = field(default_factory=list)
    unused_indexes: list[dict] = field(default_factory=list)
    duplicate_indexes: list[dict] = field(default_factory=list)
    table_bloat: list[dict] = field(default_factory=list)
    index_bloat: list[dict] = field(default_factory=list)
    partitions: list[dict] = field(default_factory=list)
    recommendations: list[dict] = field(default_factory=list)
    app_cache: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rows(sql: str, params: list | None = None) -> list[dict]:
    # A savepoint each: a section that fails (missing view, missing right) must not
    # doom the sections after it.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal | float):
        number = float(value)
        return int(number) if number.is_integer() else round(number, 3)
    return value


def _clean(rows: list[dict]) -> list[dict]:
    return [{key: _number(value) for key, value in row.items()} for row in rows]


# ------------------------------------------------------------------ sections
STATEMENTS_SQL = """
SELECT s.queryid::text AS queryid, r.rolname AS role, s.calls, s.rows,
       s.total_exec_time AS total_ms, s.mean_exec_time AS mean_ms,
       s.shared_blks_hit + s.shared_blks_read AS blocks,
       left(regexp_replace(s.query, '\\s+', ' ', 'g'), %s) AS query
  FROM pg_stat_statements s
  JOIN pg_roles r ON r.oid = s.userid
 WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY {order} DESC
 LIMIT %s
"""


def statements(report: Report, limit: int, width: int) -> None:
    installed = _rows("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if not installed:
        report.statements_message = (
            "pg_stat_statements is not installed in this database: add it to "
            "shared_preload_libraries, restart PostgreSQL and run "
            "CREATE EXTENSION pg_stat_statements (the embedded server has it)"
        )
        return
    try:
        report.top_by_total = _clean(
            _rows(STATEMENTS_SQL.format(order="s.total_exec_time"), [width, limit])
        )
        report.top_by_mean = _clean(
            _rows(STATEMENTS_SQL.format(order="s.mean_exec_time"), [width, limit])
        )
    except DatabaseError as error:
        report.statements_message = (
            f"pg_stat_statements cannot be read: {str(error).strip().splitlines()[0]} "
            "(it must be in shared_preload_libraries)"
        )
        return
    report.statements_available = True
    hidden = any(row["query"] == "<insufficient privilege>" for row in report.top_by_total)
    if hidden:
        report.statements_message = (
            "some statement texts are hidden: grant pg_read_all_stats to this role"
        )
    since = _rows("SELECT stats_reset::text AS since FROM pg_stat_statements_info")
    report.stats_since = since[0]["since"] if since else None


def hit_ratio(report: Report) -> None:
    row = _rows(
        """
        SELECT d.blks_hit, d.blks_read,
               round(100.0 * d.blks_hit / nullif(d.blks_hit + d.blks_read, 0), 2) AS percent,
               (SELECT round(100.0 * sum(idx_blks_hit)
                       / nullif(sum(idx_blks_hit + idx_blks_read), 0), 2)
                  FROM pg_statio_user_tables) AS index_percent,
               (SELECT round(100.0 * sum(heap_blks_hit)
                       / nullif(sum(heap_blks_hit + heap_blks_read), 0), 2)
                  FROM pg_statio_user_tables) AS table_percent
          FROM pg_stat_database d WHERE d.datname = current_database()
        """
    )[0]
    report.cache_hit_ratio = {key: _number(value) for key, value in row.items()}


def tables(report: Report, limit: int) -> None:
    report.tables = _clean(
        _rows(
            """
            SELECT t.relname AS table, t.n_live_tup AS live_rows, t.n_dead_tup AS dead_rows,
                   t.seq_scan, t.seq_tup_read AS seq_rows_read, coalesce(t.idx_scan, 0) AS idx_scan,
                   round(100.0 * coalesce(t.idx_scan, 0)
                         / nullif(t.seq_scan + coalesce(t.idx_scan, 0), 0), 1) AS idx_scan_percent,
                   pg_total_relation_size(t.relid) AS bytes,
                   t.last_autovacuum::text AS last_autovacuum,
                   t.last_autoanalyze::text AS last_autoanalyze
              FROM pg_stat_user_tables t
             ORDER BY t.seq_tup_read DESC, t.relname
             LIMIT %s
            """,
            [limit],
        )
    )


# Index facts: whether it backs a constraint (primary key, unique, exclusion,
# referenced by a foreign key) - those are never proposed for dropping.
INDEXES_SQL = """
SELECT i.indexrelid, c.relname AS index, t.relname AS table, s.idx_scan,
       pg_relation_size(i.indexrelid) AS bytes,
       i.indisunique OR i.indisprimary OR i.indisexclusion
         OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
         -- the index a foreign key's checks (deletes of the referenced row) rely on
         OR EXISTS (SELECT 1 FROM pg_constraint f
                     WHERE f.contype = 'f' AND f.conrelid = i.indrelid
                       AND (i.indkey::int2[])[0:cardinality(f.conkey) - 1] = f.conkey)
         AS backs_constraint,
       i.indrelid, i.indkey::text AS indkey, i.indclass::text AS indclass,
       i.indcollation::text AS indcollation,
       coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
       coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
       am.amname AS method,
       pg_get_indexdef(i.indexrelid) AS definition
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_am am ON am.oid = c.relam
  JOIN pg_namespace n ON n.oid = t.relnamespace
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND t.relkind IN ('r', 'm', 'p')
"""


def indexes(report: Report) -> None:
    rows = _rows(INDEXES_SQL)
    report.unused_indexes = [
        {k: row[k] for k in ("index", "table", "bytes", "definition")}
        for row in sorted(rows, key=lambda r: -r["bytes"])
        if row["idx_scan"] == 0 and not row["backs_constraint"]
    ]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["indrelid"], row["indkey"], row["indclass"], row["indcollation"],
               row["exprs"], row["pred"], row["method"])  # fmt: skip
        groups.setdefault(key, []).append(row)
    duplicates = []
    for same in groups.values():
        if len(same) < 2:
            continue
        # Keep one that backs a constraint if any, else the most used.
        keep = max(same, key=lambda r: (r["backs_constraint"], r["idx_scan"] or 0, -r["bytes"]))
        for row in same:
            if row is not keep:
                duplicates.append({
                    "index": row["index"], "table": row["table"], "duplicate_of": keep["index"],
                    "bytes": row["bytes"], "backs_constraint": row["backs_constraint"],
                    "definition": row["definition"],
                })  # fmt: skip
    report.duplicate_indexes = duplicates


# Estimates from the planner's statistics (no extension, no table scan): the
# pages the live rows would need against the pages the relation has. Rough by
# design (fill factor, alignment); a large "bloat" means VACUUM FULL / REINDEX
# CONCURRENTLY may give space back. pgstattuple measures exactly, at a scan's cost.
TABLE_BLOAT_SQL = """
WITH widths AS (
    SELECT s.schemaname, s.tablename,
           sum((1 - s.null_frac) * s.avg_width) AS row_width
      FROM pg_stats s GROUP BY 1, 2
)
SELECT c.relname AS table, c.relpages AS pages, c.reltuples::bigint AS rows,
       w.row_width, current_setting('block_size')::int AS block_size
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN widths w ON w.schemaname = n.nspname AND w.tablename = c.relname
 WHERE c.relkind = 'r' AND n.nspname = 'public' AND c.relpages > 10
"""

INDEX_BLOAT_SQL = """
SELECT ci.relname AS index, ct.relname AS table, ci.relpages AS pages,
       ci.reltuples::bigint AS rows, current_setting('block_size')::int AS block_size,
       (SELECT sum(s.avg_width) FROM pg_attribute a
          JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = ct.relname
                         AND s.attname = a.attname
         WHERE a.attrelid = ct.oid AND a.attnum = ANY (i.indkey)) AS key_width
  FROM pg_index i
  JOIN pg_class ci ON ci.oid = i.indexrelid
  JOIN pg_class ct ON ct.oid = i.indrelid
  JOIN pg_am am ON am.oid = ci.relam AND am.amname = 'btree'
  JOIN pg_namespace n ON n.oid = ct.relnamespace
 WHERE n.nspname = 'public' AND ci.relpages > 10 AND i.indexprs IS NULL
"""


def _bloat(pages: int, needed: float, block_size: int) -> dict:
    needed_pages = max(math.ceil(needed), 1)
    extra = max(pages - needed_pages, 0)
    return {
        "bytes": pages * block_size,
        "estimated_bloat_bytes": extra * block_size,
        "estimated_bloat_percent": round(100.0 * extra / pages, 1) if pages else 0.0,
    }


def bloat(report: Report, limit: int) -> None:
    found = []
    for row in _rows(TABLE_BLOAT_SQL):
        # 23-byte tuple header (+1 alignment) and a 4-byte line pointer per row;
        # a page keeps 24 bytes for its header.
        per_row = 28 + float(row["row_width"] or 0)
        needed = row["rows"] * per_row / (row["block_size"] - 24)
        found.append({"table": row["table"], **_bloat(row["pages"], needed, row["block_size"])})
    report.table_bloat = sorted(found, key=lambda r: -r["estimated_bloat_bytes"])[:limit]
    found = []
    for row in _rows(INDEX_BLOAT_SQL):
        # 8-byte index tuple header, 4-byte line pointer; leaves 90% full by default.
        if row["key_width"] is None:
            continue  # its table was never analyzed: no estimate rather than a wrong one
        per_row = 12 + float(row["key_width"])
        needed = row["rows"] * per_row / ((row["block_size"] - 24) * 0.9) + 1
        found.append({"index": row["index"], "table": row["table"],
                      **_bloat(row["pages"], needed, row["block_size"])})  # fmt: skip
    report.index_bloat = sorted(found, key=lambda r: -r["estimated_bloat_bytes"])[:limit]


def partitions(report: Report) -> None:
    report.partitions = _clean(
        _rows(
            """
            SELECT parent.relname AS parent, child.relname AS partition,
                   pg_get_expr(child.relpartbound, child.oid) AS bounds,
                   greatest(child.reltuples, 0)::bigint AS estimated_rows,
                   pg_total_relation_size(child.oid) AS bytes
              FROM pg_partitioned_table p
              JOIN pg_class parent ON parent.oid = p.partrelid
              JOIN pg_inherits h ON h.inhparent = parent.oid
              JOIN pg_class child ON child.oid = h.inhrelid
              JOIN pg_namespace n ON n.oid = parent.relnamespace
             WHERE n.nspname = 'public'
             ORDER BY parent.relname, child.relname
            """
        )
    )


def recommend(report: Report) -> None:
    advice: list[dict] = []
    for table in report.tables:
        scans = table["seq_scan"] or 0
        if (
            (table["live_rows"] or 0) >= BIG_TABLE_ROWS
            and scans > (table["idx_scan"] or 0)
            and (table["seq_rows_read"] or 0) / max(scans, 1) >= SEQ_ROWS_PER_SCAN
        ):
            culprits = [
                row["query"][:200]
                for row in report.top_by_total
                if f'"{table["table"]}"' in row["query"] or f" {table['table']} " in row["query"]
            ][:3]
            advice.append({
                "kind": "index candidate", "table": table["table"],
                "reason": f"{scans} sequential scans read {table['seq_rows_read']} rows "
                          f"({table['live_rows']} live rows, {table['idx_scan']} index scans)",
                "action": "index the column(s) these statements filter or sort on "
                          "(organization_id first), then compare with EXPLAIN ANALYZE",
                "statements": culprits,
            })  # fmt: skip
    for index in report.unused_indexes:
        advice.append({
            "kind": "drop index", "table": index["table"], "index": index["index"],
            "reason": f"never used since the statistics were reset ({index['bytes']} bytes)",
            "action": f"DROP INDEX CONCURRENTLY {index['index']};  -- after a full business "
                      "cycle of statistics, and if no replica reads it",
        })  # fmt: skip
    for index in report.duplicate_indexes:
        if index["backs_constraint"]:
            continue  # both back constraints: dropping needs a schema change, not advice
        advice.append({
            "kind": "drop index", "table": index["table"], "index": index["index"],
            "reason": f"same definition as {index['duplicate_of']}",
            "action": f"DROP INDEX CONCURRENTLY {index['index']};",
        })  # fmt: skip
    report.recommendations = advice


def app_cache(report: Report) -> None:
    report.app_cache = {
        "backend": cachelayer.backend_name(),
        "available": cachelayer.available(),
        "entries": cachelayer.collected_stats(),
    }


def build(*, limit: int = 10, width: int = 300) -> Report:
    """The whole report; each section on its own, a failing one noted in `errors`."""
    report = Report(database=connection.settings_dict["NAME"])
    sections = {
        "statements": lambda: statements(report, limit, width),
        "cache_hit_ratio": lambda: hit_ratio(report),
        "tables": lambda: tables(report, 50),
        "indexes": lambda: indexes(report),
        "bloat": lambda: bloat(report, limit),
        "partitions": lambda: partitions(report),
        "recommendations": lambda: recommend(report),
        "app_cache": lambda: app_cache(report),
    }
    for name, run in sections.items():
        try:
            run()
        except DatabaseError as error:
            report.errors[name] = str(error).strip().splitlines()[0]
    return report


# ------------------------------------------------------------------ text
def _size(value: int | None) -> str:
    amount = float(value or 0)
    for unit in ("B", "kB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GB"


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]  # fmt: skip
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return lines


def render_text(report: Report) -> str:
    out: list[str] = [f"deskbase dbreport: database {report.database}"]

    def section(title: str) -> None:
        out.extend(["", f"== {title}"])

    section("Top statements (pg_stat_statements)")
    if report.statements_message:
        out.append(f"  note: {report.statements_message}")
    if report.statements_available:
        out.append(f"  since {report.stats_since or 'the server started'}")
        for title, rows in (("by total time", report.top_by_total),
                            ("by mean time", report.top_by_mean)):  # fmt: skip
            out.append(f"  {title}:")
            out.extend(_table(
                ["total ms", "mean ms", "calls", "rows", "statement"],
                [[f"{r['total_ms']:.1f}", f"{r['mean_ms']:.2f}", r["calls"], r["rows"],
                  r["query"][:110]] for r in rows],
            ))  # fmt: skip
    section("Buffer cache hit ratio")
    ratio = report.cache_hit_ratio
    if ratio:
        out.append(f"  all blocks {ratio.get('percent')}%  tables {ratio.get('table_percent')}%  "
                   f"indexes {ratio.get('index_percent')}%  (hit {ratio.get('blks_hit')}, "
                   f"read {ratio.get('blks_read')}; aim for 99%)")  # fmt: skip
    section("Tables: sequential vs index scans (most rows read sequentially first)")
    out.extend(_table(
        ["table", "live rows", "seq scans", "rows read seq", "idx scans", "idx %", "size"],
        [[t["table"], t["live_rows"], t["seq_scan"], t["seq_rows_read"], t["idx_scan"],
          t["idx_scan_percent"], _size(t["bytes"])] for t in report.tables[:20]],
    ))  # fmt: skip
    section("Unused indexes (no scan since the statistics were reset; constraints excluded)")
    out.extend(_table(["index", "table", "size"],
                      [[i["index"], i["table"], _size(i["bytes"])]
                       for i in report.unused_indexes]) if report.unused_indexes
               else ["  none"])  # fmt: skip
    section("Duplicate indexes")
    out.extend(_table(["index", "same as", "table", "size"],
                      [[i["index"], i["duplicate_of"], i["table"], _size(i["bytes"])]
                       for i in report.duplicate_indexes]) if report.duplicate_indexes
               else ["  none"])  # fmt: skip
    section("Bloat estimates (from planner statistics; pgstattuple measures exactly)")
    out.extend(_table(
        ["relation", "size", "est. bloat", "%"],
        [[r.get("index") or r["table"], _size(r["bytes"]), _size(r["estimated_bloat_bytes"]),
          r["estimated_bloat_percent"]] for r in [*report.table_bloat, *report.index_bloat]],
    ))  # fmt: skip
    section("Partitions")
    out.extend(_table(["parent", "partition", "rows (est.)", "size", "bounds"],
                      [[p["parent"], p["partition"], p["estimated_rows"], _size(p["bytes"]),
                        p["bounds"]] for p in report.partitions]) if report.partitions
               else ["  no partitioned table"])  # fmt: skip
    section("Recommendations")
    if not report.recommendations:
        out.append("  none")
    for item in report.recommendations:
        target = item.get("index") or item["table"]
        out.append(f"  - {item['kind']}: {target}: {item['reason']}")
        out.append(f"      {item['action']}")
        for statement in item.get("statements", []):
            out.append(f"      e.g. {statement}")
    section("Application cache (deskbase.cached)")
    cache = report.app_cache
    if cache:
        state = "available" if cache["available"] else "UNAVAILABLE: serving uncached"
        out.append(f"  backend {cache['backend']}, {state}")
        entries = cache["entries"]
        out.extend(_table(
            ["entry", "hits", "misses", "hit %", "bypassed", "errors"],
            [[name, c["hit"], c["miss"],
              round(100.0 * c["hit"] / (c["hit"] + c["miss"]), 1) if c["hit"] + c["miss"] else "-",
              c["bypass"], c["error"]] for name, c in sorted(entries.items())],
        ) if entries else ["  no reads counted yet"])  # fmt: skip
    for name, message in report.errors.items():
        out.append(f"\n  section {name} failed: {message}")
    return "\n".join(out) + "\n"
