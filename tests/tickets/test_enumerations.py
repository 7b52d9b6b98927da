"""Statuses, priorities, channels and roles are defined once, by the TextChoices of
tickets.models and accounts.models; every other copy is derived from them or pinned
to them here: the status transition trigger, the CHECK constraints, every status,
priority, channel or role list in the database's functions, views and indexes, the
API's Literal types (the search filters' among them) and the priority sort's rank.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import re
import typing

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction

import deskbase.api
from deskbase.accounts.models import STAFF_ROLES, Availability, CustomerTier, Role
from deskbase.core.errors import from_integrity_error
from deskbase.tickets import listing, selectors
from deskbase.tickets.models import (
    ACTIVE_STATUSES,
    ENDED_STATUSES,
    TRANSITIONS,
    Channel,
    Priority,
    Status,
    Ticket,
)
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

ENUMS: dict[str, type[models.TextChoices]] = {
    "status": Status,
    "priority": Priority,
    "channel": Channel,
    "role": Role,
}
PAIRS = [(old, new) for old, new in itertools.permutations(Status.values, 2)]
FORBIDDEN = [(old, new) for old, new in PAIRS if new not in TRANSITIONS[old]]
ALLOWED = [(old, new) for old, new in PAIRS if new in TRANSITIONS[old]]


def fetch(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


# ------------------------------------------------------------------ the state machine
def test_the_state_machine_covers_every_status():
    assert set(TRANSITIONS) == set(Status.values)
    assert all(set(targets) <= set(Status.values) for targets in TRANSITIONS.values())
    assert set(ACTIVE_STATUSES) < set(Status.values)


def test_the_trigger_allows_exactly_the_transitions_of_the_model():
    [(body,)] = fetch("SELECT pg_get_functiondef('tickets_check_status_transition'::regproc)")
    in_trigger = set(re.findall(r"\('(\w+)', '(\w+)'\)", body))
    assert in_trigger == set(ALLOWED)


def move(ticket_id: int, status: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET status = %s WHERE id = %s", [status, ticket_id])


def ticket_in(tenant, status: str) -> Ticket:
    ticket = open_ticket(tenant)
    assert ticket.status == Status.NEW
    if status != Status.NEW:
        move(ticket.id, status)  # every status is reachable from new in one step
    return ticket


@pytest.mark.parametrize(("old", "new"), FORBIDDEN, ids=[f"{o}->{n}" for o, n in FORBIDDEN])
def test_every_forbidden_transition_is_refused_by_the_trigger(tenant_a, old, new):
    # Given a ticket in `old`, when raw SQL moves it to `new`, then the trigger refuses,
    # naming its constraint and the status field, and the row keeps `old`.
    ticket = ticket_in(tenant_a, old)
    with pytest.raises(IntegrityError, match=f"cannot go from {old} to {new}") as refused:
        move(ticket.id, new)
    assert refused.value.__cause__.diag.constraint_name == "tickets_ticket_status_transition"
    failed = from_integrity_error(refused.value)
    assert failed is not None
    assert set(failed.errors) == {"status"}
    assert fetch("SELECT status FROM tickets_ticket WHERE id = %s", [ticket.id]) == [(old,)]


@pytest.mark.parametrize(("old", "new"), ALLOWED, ids=[f"{o}->{n}" for o, n in ALLOWED])
def test_every_allowed_transition_passes_the_trigger(tenant_a, old, new):
    ticket = ticket_in(tenant_a, old)
    move(ticket.id, new)
    assert fetch("SELECT status FROM tickets_ticket WHERE id = %s", [ticket.id]) == [(new,)]


# ------------------------------------------------------------------ the database's copies
def choice_constraints() -> list[tuple[str, str, list[str]]]:
    """(constraint name, field, values) of every `field IN (choices)` CHECK of a model."""
    found = []
    for model in apps.get_models():
        if not model.__module__.startswith("deskbase."):
            continue
        for constraint in model._meta.constraints:
            condition = getattr(constraint, "condition", None)
            # A condition may also be an expression (a lookup): only Q(field__in=…) lists.
            if not isinstance(constraint, models.CheckConstraint) or not isinstance(
                condition, models.Q
            ):
                continue
            if len(condition.children) == 1 and not condition.negated:
                lookup, value = condition.children[0]
                if isinstance(lookup, str) and lookup.endswith("__in"):
                    found.append((constraint.name, lookup[: -len("__in")], list(value)))
    return found


def test_every_choice_check_in_the_database_lists_the_model_s_choices():
    constraints = choice_constraints()
    names = {name for name, _, _ in constraints}
    assert {
        "tickets_ticket_status_valid",
        "tickets_ticket_priority_valid",
        "tickets_ticket_channel_valid",
        "accounts_user_role_valid",
        "sla_slapolicy_priority_valid",
    } <= names
    for name, field, values in constraints:
        rows = fetch(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [name]
        )
        assert rows, f"{name} is not in the database"
        for (definition,) in rows:
            assert f"({field})" in definition, (name, definition)
            assert sorted(quoted(definition)) == sorted(values), name


def database_sql() -> list[tuple[str, str]]:
    """(object, SQL) of deskbase's functions, views, indexes and CHECK constraints."""
    return fetch(
        """
        SELECT 'function ' || p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f'
          AND p.proname NOT LIKE 'procrastinate%%'
          AND EXISTS (SELECT 1 FROM pg_language l WHERE l.oid = p.prolang
                      AND l.lanname IN ('sql', 'plpgsql'))
        UNION ALL
        SELECT 'view ' || c.relname, pg_get_viewdef(c.oid) FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
          AND c.relname NOT LIKE 'procrastinate%%'
        UNION ALL
        SELECT 'index ' || i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename NOT LIKE 'procrastinate%%'
        UNION ALL
        SELECT 'constraint ' || conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE contype = 'c' AND connamespace = 'public'::regnamespace
          AND conrelid::regclass::text NOT LIKE 'procrastinate%%'
        """
    )


# `status IN ('a', 'b')`, `status NOT IN (...)`, `(t.status)::text = ANY ((ARRAY['a'::...]))`,
# `status = 'a'`: the column, then the literals the comparison names.
COMPARISON = re.compile(
    r"\b(?P<column>status|priority|channel|role)\)?(?:::text)?\s*"
    r"(?P<op>NOT IN|IN|= ANY|<>|!=|=)\s*"
    r"(?P<values>\(*(?:ARRAY\[)?(?:'[^']*'(?:::[\w ]+)?(?:,\s*)?)+)",
    re.IGNORECASE,
)


def test_every_status_priority_channel_and_role_in_database_sql_is_a_value_of_its_enum():
    # Also: a list of statuses is all of them, the active ones or the ended ones (the
    # only sets deskbase's SQL names), a list of roles is the staff roles or a single role.
    checked: set[str] = set()
    for name, sql in database_sql():
        for match in COMPARISON.finditer(sql):
            column = match["column"].lower()
            values = quoted(match["values"])
            enum = ENUMS[column]
            assert set(values) <= set(enum.values), (name, match.group(0))
            if column == "status" and len(values) > 1:
                assert set(values) in (set(Status.values), set(ACTIVE_STATUSES),
                                       set(ENDED_STATUSES)), name  # fmt: skip
            if column == "role" and len(values) > 1:
                assert set(values) in (set(Role.values), set(STAFF_ROLES)), name
            checked.add(column)
    # The scan did find the copies it is there for.
    assert checked == set(ENUMS)


# ------------------------------------------------------------------ the API's copies
LITERALS: dict[str, type[models.TextChoices]] = {
    "StatusName": Status,
    "PriorityName": Priority,
    "ChannelName": Channel,
    "RoleName": Role,
    "TierName": CustomerTier,
    "AvailabilityName": Availability,
}


def api_literals() -> list[tuple[str, str, tuple]]:
    found = []
    for info in pkgutil.walk_packages(deskbase.api.__path__, "deskbase.api."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name in LITERALS and typing.get_origin(value) is typing.Literal:
                found.append((info.name, name, typing.get_args(value)))
    return found


def test_the_api_s_literal_types_list_the_enum_values_in_order():
    found = api_literals()
    assert {name for _, name, _ in found} == set(LITERALS)
    assert any(module == "deskbase.api.search" for module, _, _ in found)  # search filters
    for module, name, values in found:
        assert list(values) == LITERALS[name].values, f"{module}.{name}"


def test_the_openapi_enums_list_the_enum_values():
    from deskbase.api.main import api

    schemas = api.get_openapi_schema()["components"]["schemas"]
    seen = set()
    for schema in schemas.values():
        for field, spec in schema.get("properties", {}).items():
            items = spec.get("items", spec)
            if field in ENUMS and "enum" in items:
                assert items["enum"] == ENUMS[field].values, field
                seen.add(field)
    assert {"status", "priority", "channel", "role"} <= seen


# ------------------------------------------------------------------ the priority sort
def test_the_priority_rank_follows_the_order_of_priority(tenant_a):
    # Given one ticket of each priority, when ranked by the ORM's and the SQL's rank,
    # then both give Priority's order, lowest first.
    ids = {p: open_ticket(tenant_a, priority=p).id for p in Priority.values}
    orm = dict(
        Ticket.objects.filter(id__in=ids.values())
        .annotate(rank=selectors.PRIORITY_RANK)
        .values_list("priority", "rank")
    )
    raw = dict(
        fetch(
            f"SELECT t.priority, {listing.PRIORITY_RANK_SQL} FROM tickets_ticket t"  # noqa: S608
            " WHERE t.id = ANY(%s)",
            [list(ids.values())],
        )
    )
    expected = {p: rank for rank, p in enumerate(Priority.values, start=1)}
    assert orm == expected
    assert raw == expected
