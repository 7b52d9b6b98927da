"""The named scenarios of `deskbase bench`, each with an in-process and/or an HTTP driver.

A scenario is one kind of request (a queue page, a ticket's detail, a new
ticket ...). It may be measured two ways, under the same name:

- in-process: the selector or service called directly, queries counted with a
  Django execute wrapper (`deskbase.benchmarks.scenarios`);
- over HTTP: a request to a running server, queries and database time read from
  its Server-Timing header (`deskbase.benchmarks.http_scenarios`).

Each driver is a *prepare* function: called once in the main thread (pick and
load its subjects, create what it writes to), it returns a `Prepared` whose
`worker(index)` is called once in each client thread and returns the call to
time. The thread split matters for `--concurrency`: each thread has its own
database connection or HTTP connection.

To add a driver, decorate a prepare function in a module listed in
`SCENARIO_MODULES`; `@inprocess(...)` and `@http(...)` on the same name fill
the two halves of one scenario (bench/README.md, "Adding a scenario").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskbase.benchmarks.context import Context

# Imported by load(); an app that brings its own drivers appends its module here.
SCENARIO_MODULES = ["deskbase.benchmarks.scenarios", "deskbase.benchmarks.http_scenarios"]
SCENARIO_MODULES.append("deskbase.benchmarks.search_scenarios")
SCENARIO_MODULES.append("deskbase.benchmarks.analytics_scenarios")
SCENARIO_MODULES.append("deskbase.benchmarks.cache_scenarios")  # cached vs uncached hot reads
SCENARIO_MODULES.append("deskbase.web.bench")  # the web pages (docs/web.md)
SCENARIO_MODULES.append("deskbase.benchmarks.outbox_scenarios")  # outbox delivery (docs/outbox.md)
SCENARIO_MODULES.append("deskbase.benchmarks.mail_scenarios")  # incoming mail (docs/mail.md)
SCENARIO_MODULES.append("deskbase.benchmarks.knowledge_scenarios")  # docs/knowledge-base.md
SCENARIO_MODULES.append("deskbase.benchmarks.ratelimit_scenarios")  # the API rate limiter
SCENARIO_MODULES.append("deskbase.benchmarks.webhook_scenarios")  # docs/webhooks.md
SCENARIO_MODULES.append("deskbase.benchmarks.automation_scenarios")  # docs/automation.md
SCENARIO_MODULES.append("deskbase.benchmarks.customer_scenarios")  # docs/customers.md
SCENARIO_MODULES.append("deskbase.benchmarks.bulk_scenarios")  # docs/bulk.md, saved-views.md
SCENARIO_MODULES.append("deskbase.benchmarks.notification_scenarios")  # docs/notifications.md
MODES = ("in-process", "http")


@dataclass(frozen=True)
class Statement:
    """One statement as the ORM sent it to the database."""

    sql: str
    params: Any
    many: bool = False


MainSql = Callable[[Statement], bool]


@dataclass
class Prepared:
    """A scenario ready to run: per-thread calls, what it measures, and its tenant.

    `tenant` (organization id, actor id) is set on the raw psycopg connection
    before the main SQL is timed, the same way `deskbase.core.tenancy` sets it.
    """

    worker: Callable[[int], Callable[[], Any]]
    details: dict[str, Any] = field(default_factory=dict)
    tenant: tuple[int, int | None] | None = None


Prepare = Callable[["Context"], Prepared]


@dataclass
class Scenario:
    name: str
    description: str
    inprocess: Prepare | None = None
    http: Prepare | None = None
    main_sql: MainSql | None = None  # picks the statements timed raw; None: all but tenancy
    writes: bool = False

    def driver(self, mode: str) -> Prepare | None:
        return self.inprocess if mode == "in-process" else self.http

    def modes(self) -> list[str]:
        return [mode for mode in MODES if self.driver(mode) is not None]


REGISTRY: dict[str, Scenario] = {}


_REGISTERED: dict[str, int] = {}  # name -> the order in which it was first registered


def _entry(name: str, description: str | None, writes: bool) -> Scenario:
    _REGISTERED.setdefault(name, len(_REGISTERED))
    scenario = REGISTRY.setdefault(name, Scenario(name=name, description=description or name))
    if description and scenario.description == name:
        scenario.description = description
    scenario.writes = scenario.writes or writes
    return scenario


def inprocess(
    name: str, description: str, *, main_sql: MainSql | None = None, writes: bool = False
) -> Callable[[Prepare], Prepare]:
    """Register the in-process driver of scenario `name`."""

    def register(prepare: Prepare) -> Prepare:
        scenario = _entry(name, description, writes)
        scenario.inprocess, scenario.main_sql = prepare, main_sql
        return prepare

    return register


def http(
    name: str, description: str | None = None, *, writes: bool = False
) -> Callable[[Prepare], Prepare]:
    """Register the HTTP driver of scenario `name` (a new one, or one measured in-process)."""

    def register(prepare: Prepare) -> Prepare:
        _entry(name, description, writes).http = prepare
        return prepare

    return register


def load() -> dict[str, Scenario]:
    """Every scenario, in the order of SCENARIO_MODULES (then as each module defines
    them), whichever module a caller happened to import first."""
    for module in SCENARIO_MODULES:
        importlib.import_module(module)
    rank = {module: index for index, module in enumerate(SCENARIO_MODULES)}

    def position(scenario: Scenario) -> tuple[int, int]:
        drivers = [d for d in (scenario.inprocess, scenario.http) if d is not None]
        module = min((rank.get(d.__module__, len(rank)) for d in drivers), default=len(rank))
        return module, _REGISTERED.get(scenario.name, 0)

    ordered = sorted(REGISTRY.values(), key=position)
    REGISTRY.clear()
    REGISTRY.update((scenario.name, scenario) for scenario in ordered)
    return REGISTRY


def select(mode: str, names: list[str] | None) -> list[Scenario]:
    """The scenarios to run in `mode`: those named (in registry order), or all it can run."""
    registry = load()
    runnable = [s for s in registry.values() if s.driver(mode) is not None]
    if not names:
        return runnable
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise LookupError(f"unknown scenario {unknown[0]!r}; known: {', '.join(registry)}")
    missing = [n for n in names if registry[n].driver(mode) is None]
    if missing:
        raise LookupError(
            f"scenario {missing[0]!r} has no {mode} driver yet; {mode} scenarios: "
            + ", ".join(s.name for s in runnable)
        )
    return [s for s in runnable if s.name in names]


# ------------------------------------------------------------ main SQL pickers
def is_tenancy(statement: Statement) -> bool:
    """The set_config() of deskbase.core.tenancy, and savepoint bookkeeping."""
    sql = statement.sql.lstrip().upper()
    return "SET_CONFIG(" in sql or sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK"))


def data_statements(statement: Statement) -> bool:
    return not is_tenancy(statement)


def selects_from(table: str) -> MainSql:
    """The SELECTs whose main table is `table` (joins included)."""
    return lambda s: s.sql.lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in s.sql


def inserts_into(table: str) -> MainSql:
    return lambda s: s.sql.lstrip().startswith(f'INSERT INTO "{table}"')
