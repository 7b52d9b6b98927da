"""Benchmark: what the API rate limiter adds to each request (deskbase.api.ratelimit).

`api_ratelimit` times `ratelimit.check` as an authenticated API request calls it: one
round trip on the limiter's own connection (set the tenant, count the request against
its organization and its caller, read the organization's own limit), with limits
high enough that nothing is refused. Each client thread counts as a caller of its
own in the subjects' organization, so under `--concurrency` the threads contend for
the organization's counter row as an organization's clients do. The statement runs
outside Django's connection, so the bench captures no raw SQL for it: the median is
the limiter's whole cost. Figures in docs/performance.md.
"""

from __future__ import annotations

from django.http import HttpRequest

from deskbase.api import ratelimit
from deskbase.benchmarks.context import Context
from deskbase.benchmarks.registry import Prepared, inprocess

UNREACHABLE = 10**9  # a limit no bench run reaches


@inprocess("api_ratelimit", "the API rate limiter's check: one upsert of two counters")
def api_ratelimit(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    org_id = subjects.organization_id
    # Connections of its own, as many as client threads (a server process has as many
    # as application slots); closed when the scenario's calls are collected.
    pool = ratelimit.Connections(max(1, ctx.concurrency))

    def worker(index: int):
        request = HttpRequest()
        caller = f"bench:{index}"

        def call() -> None:
            ratelimit.count(request, organization_id=org_id, caller=caller, pool=pool,
                            default_limit=UNREACHABLE, caller_limit=UNREACHABLE)  # fmt: skip

        return call

    return Prepared(
        worker,
        details={"organization": org_id, "window_seconds": ratelimit.WINDOW_SECONDS},
        tenant=(org_id, subjects.agent_id),
    )
