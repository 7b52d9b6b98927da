"""Benchmarks: each hot read of deskbase.cached, from the cache and from the database.

For each accessor two scenarios: `<name>_cached` (the entry warm in the configured
cache: local memory, or Redis with REDIS_URL) and `<name>_uncached` (the same
accessor with the cache bypassed: the queries it replaced). `ticket_create_uncached`
is the existing `ticket_create` with every cached read bypassed. Figures in
docs/caching.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deskbase import cached
from deskbase.benchmarks.context import Context
from deskbase.benchmarks.registry import Prepared, inprocess, inserts_into
from deskbase.benchmarks.scenarios import _load, _open_bench_ticket, bench_customer
from deskbase.core import cache as cachelayer

READS: dict[str, tuple[str, Callable[[int], Any]]] = {
    "org_settings": ("the organization with its holidays", cached.organization_settings),
    "sla_policies": ("the organization's SLA policies", cached.sla_policies),
    "category_tree": ("the category tree", cached.category_tree),
    "agent_roster": ("active staff with availability and skills", cached.agent_roster),
    "canned_list": ("every live canned response", cached.canned_responses),
}


def _bypassed(call: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with cachelayer.bypass():
            return call()

    return run


def _register(name: str, description: str, read: Callable[[int], Any]) -> None:
    def prepare(ctx: Context, *, warm: bool) -> Prepared:
        subjects = ctx.need_subjects()
        org_id = subjects.organization_id
        value = read(org_id)  # loads the entry: the cached side then only hits
        call = (lambda: read(org_id)) if warm else _bypassed(lambda: read(org_id))
        size = len(value) if isinstance(value, list) else 1
        return Prepared(
            lambda index: call,
            details={"read": name, "rows": size, "cache": cachelayer.backend_name()},
            tenant=(org_id, subjects.agent_id),
        )

    inprocess(f"{name}_cached", f"{description}, from the cache (warm)")(
        lambda ctx: prepare(ctx, warm=True)
    )
    inprocess(f"{name}_uncached", f"{description}, from the database (cache bypassed)")(
        lambda ctx: prepare(ctx, warm=False)
    )


for _name, (_description, _read) in READS.items():
    _register(_name, _description, _read)


@inprocess("ticket_create_uncached", "ticket_create with every cached read bypassed",
           main_sql=inserts_into("tickets_ticket"), writes=True)  # fmt: skip
def ticket_create_uncached(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)
    customer = bench_customer(organization)
    call = _bypassed(lambda: _open_bench_ticket(organization, agent, customer))
    return Prepared(
        lambda index: call,
        details={"tag": "deskbase-bench", "cache": "bypassed"},
        tenant=(organization.id, agent.id),
    )
