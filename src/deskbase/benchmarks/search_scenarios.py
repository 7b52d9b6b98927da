"""`deskbase bench` scenarios of search, for the largest organization's busiest agent.

Each scenario times `selectors.search` (or `suggest`) in-process, as the
application role. Its prepare step, not timed by the harness, also:

- runs the same query the naive way (ILIKE over subject, description and every
  comment, what django-helpdesk does) NAIVE_SAMPLES times, and our call as many
  times, and reports both medians and their ratio in `details.naive`;
- reports the plan each group took and the EXPLAIN (ANALYZE) of the heaviest
  statement of one call in `details.explain`, to show which indexes it used.
"""

# ruff: noqa: S608 - SQL assembled from constants; words are bound parameters.
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection

from deskbase.accounts.models import User
from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.database import StatementRecorder
from deskbase.benchmarks.registry import Prepared, Statement, inprocess
from deskbase.core.tenancy import tenant
from deskbase.search import selectors

NAIVE_SAMPLES = 3
EXPLAIN_LINES = 40
# The query shapes of docs/search.md: a word in a large share of the tickets, two
# words, a quoted phrase with an exclusion; the rare word is read from the data.
COMMON_WORD = "dashboard"
TWO_WORDS = "password reset"
PHRASE_EXCLUSION = '"credit card" -invoice'
SUGGEST_PREFIX = "pas"


def _agent(ctx: Context) -> User:
    subjects = ctx.need_subjects()
    with tenant(subjects.organization_id):
        return User.objects.get(pk=subjects.agent_id)


def _main_sql(statement: Statement) -> bool:
    sql = statement.sql.lstrip().upper()
    return not ("SET_CONFIG(" in sql or sql.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")))


def _median_ms(call: Callable[[], Any], samples: int) -> float:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 3)


def _naive(agent: User, include: list[str], exclude: list[str], *, comments: bool = True):
    """Tickets whose subject, description or a comment contains every word (ILIKE)."""

    def contains(word_param: str) -> str:
        parts = [f"t.subject ILIKE {word_param}", f"t.description ILIKE {word_param}"]
        if comments:
            parts.append(
                "EXISTS (SELECT 1 FROM tickets_ticketcomment c WHERE c.ticket_id = t.id"
                f" AND c.deleted_at IS NULL AND c.body_text ILIKE {word_param})"
            )
        return "(" + " OR ".join(parts) + ")"

    params: dict[str, Any] = {"org": agent.organization_id}
    conditions = []
    for index, word in enumerate(include):
        params[f"w{index}"] = f"%{word}%"
        conditions.append(contains(f"%(w{index})s"))
    for index, word in enumerate(exclude):
        params[f"x{index}"] = f"%{word}%"
        conditions.append("NOT " + contains(f"%(x{index})s"))
    sql = (
        "SELECT t.id, t.number, t.subject FROM tickets_ticket t"
        " WHERE t.organization_id = %(org)s AND t.deleted_at IS NULL AND "
        + " AND ".join(conditions)
        + " ORDER BY t.updated_at DESC, t.id DESC LIMIT 20"
    )

    def call() -> None:
        with tenant(agent.organization_id, agent, savepoint=False), connection.cursor() as c:
            c.execute("SET LOCAL statement_timeout = '120s'")
            c.execute(sql, params)
            c.fetchall()

    return call


def _explain(call: Callable[[], Any], agent: User) -> dict[str, Any]:
    """The slowest statement of one call, with its EXPLAIN (ANALYZE, BUFFERS)."""
    recorder = StatementRecorder()
    with connection.execute_wrapper(recorder):
        call()
    statements = [s for s in recorder.statements if _main_sql(s)]
    timed = []
    with tenant(agent.organization_id, agent, savepoint=False), connection.cursor() as cursor:
        for statement in statements:
            started = time.perf_counter()
            cursor.execute(statement.sql, statement.params)
            if cursor.description:
                cursor.fetchall()
            timed.append(((time.perf_counter() - started) * 1000, statement))
        slowest_ms, slowest = max(timed, key=lambda item: item[0])
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest.sql, slowest.params)
        plan = [row[0] for row in cursor.fetchall()]
    return {
        "statements": len(statements),
        "slowest_ms": round(slowest_ms, 3),
        "slowest_sql": " ".join(slowest.sql.split())[:300],
        "plan": plan[:EXPLAIN_LINES],
    }


def _prepared(agent: User, call: Callable[[], Any], naive: Callable[[], Any], **details):
    first = call()
    ours = _median_ms(call, NAIVE_SAMPLES * 3)
    naive_ms = _median_ms(naive, NAIVE_SAMPLES)
    info: dict[str, Any] = dict(details)
    if isinstance(first, selectors.Results):
        info["groups"] = {
            k: {"rows": len(g.items), "plan": g.plan} for k, g in first.groups.items()
        }
        info["estimates"] = first.estimates
    else:
        info["rows"] = len(first)
    info["naive"] = {
        "median_ms": naive_ms,
        "samples": NAIVE_SAMPLES,
        "ours_median_ms": ours,
        "ratio": round(naive_ms / ours, 1) if ours else None,
        "how": "ILIKE '%word%' over subject, description and comments, newest 20",
    }
    info["explain"] = _explain(call, agent)
    return Prepared(lambda index: call, details=info,
                    tenant=(agent.tenant_id, agent.id))  # fmt: skip


def _search(agent: User, text: str) -> Callable[[], selectors.Results]:
    return lambda: selectors.search(user=agent, text=text)


@inprocess("search_rare_word", "search: a word found in one ticket (an order reference)")
def search_rare_word(ctx: Context) -> Prepared:
    agent = _agent(ctx)
    with tenant(agent.organization_id), connection.cursor() as cursor:
        cursor.execute(
            "SELECT substring(description FROM 'ORD-[0-9]+') FROM tickets_ticket"
            " WHERE organization_id = %s AND description LIKE %s ORDER BY id LIMIT 1",
            [agent.organization_id, "%ORD-%"],
        )
        row = cursor.fetchone()
        if row is None or not row[0]:  # not generated data (the demo): its newest subject
            cursor.execute(
                "SELECT subject FROM tickets_ticket WHERE organization_id = %s"
                " ORDER BY id DESC LIMIT 1",
                [agent.organization_id],
            )
            row = cursor.fetchone()
    if row is None or not row[0]:
        raise Skip("the organization has no ticket")
    word = row[0]
    return _prepared(agent, _search(agent, word), _naive(agent, [word], []), query=word)


@inprocess("search_common_word", "search: a word in a large share of the tickets")
def search_common_word(ctx: Context) -> Prepared:
    agent = _agent(ctx)
    return _prepared(agent, _search(agent, COMMON_WORD), _naive(agent, [COMMON_WORD], []),
                     query=COMMON_WORD)  # fmt: skip


@inprocess("search_two_words", "search: two words, both required")
def search_two_words(ctx: Context) -> Prepared:
    agent = _agent(ctx)
    return _prepared(agent, _search(agent, TWO_WORDS), _naive(agent, TWO_WORDS.split(), []),
                     query=TWO_WORDS)  # fmt: skip


@inprocess("search_phrase_exclusion", "search: a quoted phrase and an excluded word")
def search_phrase_exclusion(ctx: Context) -> Prepared:
    agent = _agent(ctx)
    naive = _naive(agent, ["credit card"], ["invoice"])
    return _prepared(agent, _search(agent, PHRASE_EXCLUSION), naive, query=PHRASE_EXCLUSION)


@inprocess("search_suggest", "suggestions for a three-letter prefix")
def search_suggest(ctx: Context) -> Prepared:
    agent = _agent(ctx)
    call = lambda: selectors.suggest(user=agent, text=SUGGEST_PREFIX)  # noqa: E731
    naive = _naive_suggest(agent, SUGGEST_PREFIX)
    return _prepared(agent, call, naive, query=SUGGEST_PREFIX)


def _naive_suggest(agent: User, prefix: str) -> Callable[[], None]:
    """Distinct subjects containing the text, from the tickets themselves (ILIKE)."""

    def call() -> None:
        with tenant(agent.organization_id, agent, savepoint=False), connection.cursor() as c:
            c.execute(
                "SELECT DISTINCT subject FROM tickets_ticket WHERE organization_id = %s"
                " AND deleted_at IS NULL AND subject ILIKE %s ORDER BY subject LIMIT 10",
                [agent.organization_id, f"%{prefix}%"],
            )
            c.fetchall()

    return call
