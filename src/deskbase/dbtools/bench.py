"""Hash partitioning of comments and attachments by ticket, against no partitioning.

The architecture allows partitioning beyond the monthly logs only where a
benchmark shows access by the usual key is not slower. This builds, in a scratch
schema, two fresh copies of each table from the loaded data: one plain, one
`PARTITION BY HASH (ticket_id)`, each with the production by-ticket index, then
times in one run, alternating the two, the reads the ticket page makes:

- `one`: the rows of one ticket, in conversation order (the ticket detail page);
- `page`: the rows of 25 tickets at once (a prefetch over a page of tickets).

Both copies are freshly written and analyzed, so neither carries bloat the other
lacks. Statements are sent unprepared, as Django sends them. Figures are
client-side wall times over a unix socket, reported as median/p95/p99 and the
ratio hash / plain; `deskbase bench_partitions` prints them as JSON.
"""

# Identifiers are constants of this module: no user input reaches the SQL.
# ruff: noqa: S608
from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SCHEMA = "bench_partitions"


@dataclass(frozen=True)
class Subject:
    table: str
    columns_sql: str  # the by-ticket index columns
    order: str  # the ORDER BY of the page's read


SUBJECTS = (
    Subject(
        "tickets_ticketcomment", "organization_id, ticket_id, created_at, id", "created_at, id"
    ),
    Subject("tickets_ticketattachment", "organization_id, ticket_id, id", "id"),
)


def _say(message: str) -> None:
    print(message, flush=True)


def build(cursor, subject: Subject, partitions: int, say: Callable[[str], None]) -> dict:
    """The plain and hash-partitioned copies of one table; their sizes."""
    plain = f"{SCHEMA}.{subject.table}_plain"
    hashed = f"{SCHEMA}.{subject.table}_hash"
    cursor.execute(f"CREATE TABLE {plain} (LIKE public.{subject.table} INCLUDING DEFAULTS)")
    cursor.execute(
        f"CREATE TABLE {hashed} (LIKE public.{subject.table} INCLUDING DEFAULTS)"
        " PARTITION BY HASH (ticket_id)"
    )
    for remainder in range(partitions):
        cursor.execute(
            f"CREATE TABLE {hashed}_{remainder} PARTITION OF {hashed}"
            f" FOR VALUES WITH (MODULUS {partitions}, REMAINDER {remainder})"
        )
    for target in (plain, hashed):
        started = time.monotonic()
        cursor.execute(f"INSERT INTO {target} SELECT * FROM public.{subject.table}")
        key = "(id)" if target == plain else "(id, ticket_id)"
        cursor.execute(f"ALTER TABLE {target} ADD PRIMARY KEY {key}")
        cursor.execute(f"CREATE INDEX ON {target} ({subject.columns_sql})")
        cursor.execute(f"ANALYZE {target}")
        say(f"  {target}: copied and indexed in {time.monotonic() - started:.1f}s")
    sizes = {}
    for label, target in (("plain", plain), ("hash", hashed)):
        cursor.execute(
            "SELECT CASE WHEN relkind = 'p' THEN (SELECT sum(pg_total_relation_size(relid))"
            " FROM pg_partition_tree(c.oid)) ELSE pg_total_relation_size(c.oid) END"
            " FROM pg_class c WHERE c.oid = %s::regclass",
            [target],
        )
        sizes[label] = int(cursor.fetchone()[0])
    cursor.execute(f"SELECT count(*) FROM {plain}")
    return {"rows": cursor.fetchone()[0], "bytes": sizes}


def _sample(cursor, count: int, seed: int) -> list[tuple[int, int]]:
    """(organization, ticket) pairs of tickets that have comments, chosen at random."""
    cursor.execute(
        "SELECT organization_id, id FROM public.tickets_ticket WHERE id IN"
        " (SELECT DISTINCT ticket_id FROM public.tickets_ticketcomment) ORDER BY id"
    )
    pairs = cursor.fetchall()
    rng = random.Random(seed)  # noqa: S311 (a reproducible sample, not a secret)
    return [pairs[rng.randrange(len(pairs))] for _ in range(count)]


def _pages(pairs: list[tuple[int, int]], size: int = 25) -> list[tuple[int, list[int]]]:
    """Pages of `size` tickets of one organization each."""
    by_org: dict[int, list[int]] = {}
    for org, ticket in pairs:
        by_org.setdefault(org, []).append(ticket)
    pages = []
    for org, tickets in sorted(by_org.items()):
        for start in range(0, len(tickets) - size + 1, size):
            pages.append((org, tickets[start : start + size]))
    return pages


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]

    return {
        "median_ms": round(statistics.median(ordered) * 1000, 4),
        "p95_ms": round(pct(0.95) * 1000, 4),
        "p99_ms": round(pct(0.99) * 1000, 4),
        "n": len(ordered),
    }


def measure(connection, subject: Subject, pairs: list, pages: list, rounds: int) -> dict:
    """Alternate plain and hash on the same keys; client-side time per statement."""
    plain = f"{SCHEMA}.{subject.table}_plain"
    hashed = f"{SCHEMA}.{subject.table}_hash"
    one = "SELECT * FROM {} WHERE organization_id = %s AND ticket_id = %s ORDER BY " + subject.order
    page = (
        "SELECT * FROM {} WHERE organization_id = %s AND ticket_id = ANY(%s) ORDER BY "
        + subject.order
    )
    times: dict[str, dict[str, list[float]]] = {
        "one": {"plain": [], "hash": []},
        "page": {"plain": [], "hash": []},
    }
    jobs = [("one", one, (org, t)) for org, t in pairs] + [
        ("page", page, (org, ts)) for org, ts in pages
    ]
    for round_number in range(rounds + 1):  # round 0 warms the caches
        for index, (kind, statement, params) in enumerate(jobs):
            order = (plain, hashed) if (index + round_number) % 2 == 0 else (hashed, plain)
            for table in order:
                started = time.perf_counter()
                connection.execute(statement.format(table), params, prepare=False).fetchall()
                elapsed = time.perf_counter() - started
                if round_number:
                    times[kind]["plain" if table == plain else "hash"].append(elapsed)
    out: dict[str, Any] = {}
    for kind, by_variant in times.items():
        plain_stats, hash_stats = _stats(by_variant["plain"]), _stats(by_variant["hash"])
        out[kind] = {
            "plain": plain_stats,
            "hash": hash_stats,
            "ratio_hash_to_plain_median": round(
                hash_stats["median_ms"] / plain_stats["median_ms"], 3
            ),
            "ratio_hash_to_plain_p95": round(hash_stats["p95_ms"] / plain_stats["p95_ms"], 3),
        }
    out["plan"] = _plans(connection, subject, pairs[0], one.format(hashed), one.format(plain))
    return out


def _plans(connection, subject: Subject, pair: tuple, hashed_sql: str, plain_sql: str) -> dict:
    plans = {}
    for label, statement in (("plain", plain_sql), ("hash", hashed_sql)):
        rows = connection.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) " + statement, pair, prepare=False
        ).fetchall()
        text = [row[0] for row in rows]
        plans[label] = {
            "first_node": text[0].strip(),
            "planning": next((t.strip() for t in text if t.startswith("Planning Time")), ""),
            "execution": next((t.strip() for t in text if t.startswith("Execution Time")), ""),
        }
    return plans


def run(
    connection,
    *,
    partitions: int = 16,
    samples: int = 2000,
    rounds: int = 3,
    seed: int = 1,
    keep: bool = False,
    say: Callable[[str], None] = _say,
) -> dict[str, Any]:
    """Build the copies, measure, drop the scratch schema (unless `keep`)."""
    result: dict[str, Any] = {"partitions": partitions, "samples": samples, "rounds": rounds}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.tickets_ticket")
        result["tickets"] = cursor.fetchone()[0]
        cursor.execute("SELECT version()")
        result["server"] = cursor.fetchone()[0].split(" on ")[0]
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        say(f"building copies in schema {SCHEMA} ({partitions} hash partitions) ...")
        for subject in SUBJECTS:
            result[subject.table] = {"build": build(cursor, subject, partitions, say)}
        pairs = _sample(cursor, samples, seed)
    pages = _pages(pairs)
    try:
        for subject in SUBJECTS:
            say(f"measuring {subject.table}: {len(pairs)} tickets, {len(pages)} pages ...")
            result[subject.table].update(measure(connection, subject, pairs, pages, rounds))
    finally:
        if not keep:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    return result
