"""The tenant of the current transaction, as PostgreSQL's row-level security sees it.

Policies compare `organization_id` with `current_setting('deskbase.org_id')`.
The setting is made with `set_config(..., is_local => true)`, i.e. SET LOCAL:
it ends with the transaction, so a pooled connection (or pgbouncer in
transaction mode) never carries one tenant's setting into another's work.
`deskbase.actor_id` names who acts, for the history trigger.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any

from django.db import IntegrityError, connections, transaction

from deskbase.core.errors import from_integrity_error

ORG_SETTING = "deskbase.org_id"
ACTOR_SETTING = "deskbase.actor_id"


def _id(value: Any) -> int | None:
    if value is None:
        return None
    return value if isinstance(value, int) else value.pk


def current_tenant(using: str = "default") -> int | None:
    """The tenant of the current transaction (what this connection set, else asked)."""
    connection = connections[using]
    known = _known(connection)
    if known is not None and connection.in_atomic_block:
        return int(known[0]) if known[0] else None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nullif(current_setting(%s, true), '')::bigint", [ORG_SETTING])
        return cursor.fetchone()[0]


def set_tenant(organization: Any, actor: Any = None, *, using: str = "default") -> None:
    """SET LOCAL the tenant (and actor) of the current transaction."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("set_tenant() needs a transaction: use `with tenant(...)`")
    org_id, actor_id = _id(organization), _id(actor)
    wanted = (str(org_id or ""), str(actor_id or ""))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
            [ORG_SETTING, wanted[0], ACTOR_SETTING, wanted[1]],
        )
    _remember(connection, wanted)


def actor_was_set(organization: Any, actor: Any, *, using: str = "default") -> None:
    """Note that the caller's own statement has just SET LOCAL the actor (deskbase.accounts.
    tokens sets it in the token lookup), the organization being already set."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("actor_was_set() needs a transaction")
    _remember(connection, (str(_id(organization) or ""), str(_id(actor) or "")))


def _remember(connection, settings: tuple[str, str] | None) -> None:
    """Note what this transaction has set (deskbase.core.db forgets it at its end)."""
    if hasattr(connection, "forget_tenant"):
        connection.tenant_settings = settings


def _known(connection) -> tuple[str, str] | None:
    return getattr(connection, "tenant_settings", None)


def _swap(connection, org_id: int | None, actor_id: int | None) -> tuple[str, str]:
    """Set tenant and actor; return the previous values (one statement, read then set)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''),"
            " coalesce(current_setting(%s, true), ''),"
            " set_config(%s, %s, true), set_config(%s, %s, true)",
            [ORG_SETTING, ACTOR_SETTING, ORG_SETTING, str(org_id or ""), ACTOR_SETTING,
             str(actor_id or "")],
        )  # fmt: skip
        previous_org, previous_actor, *_ = cursor.fetchone()
    _remember(connection, (str(org_id or ""), str(actor_id or "")))
    return previous_org, previous_actor


# Set inside `rolled_back_whole`: the next nested tenant() opens no savepoint of its own.
_caller_rolls_back: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "deskbase_caller_rolls_back", default=False
)


@contextlib.contextmanager
def rolled_back_whole(*, using: str = "default") -> Iterator[None]:
    """A savepoint (transaction.atomic) whose directly called services open none of their own.

    A service nested in a transaction opens a savepoint so that a caller can catch its
    error and go on. A caller that never does (it lets every error leave this block,
    which rolls back to its own savepoint) spares each service call the SAVEPOINT and
    RELEASE round trips. Services called by those services keep their savepoints, and a
    `transaction.atomic()` inside the block still opens one: catch only around that.
    """
    with transaction.atomic(using=using):
        token = _caller_rolls_back.set(True)
        try:
            yield
        finally:
            _caller_rolls_back.reset(token)


@contextlib.contextmanager
def tenant(
    organization: Any, actor: Any = None, *, using: str = "default", savepoint: bool = True
) -> Iterator[None]:
    """A transaction (or savepoint) in which `organization` is the tenant.

    Nested in a transaction with another tenant or actor, it puts the outer
    values back on the way out. Reads may pass savepoint=False to spare the
    SAVEPOINT round trips; an error inside then dooms the outer transaction
    (inside `rolled_back_whole`, the caller's savepoint undoes it).
    """
    connection = connections[using]
    nested = connection.in_atomic_block
    if nested and _caller_rolls_back.get():
        token = _caller_rolls_back.set(False)
        try:
            with tenant(organization, actor, using=using, savepoint=False):
                yield
        finally:
            _caller_rolls_back.reset(token)
        return
    org_id, actor_id = _id(organization), _id(actor)
    wanted = (str(org_id or ""), str(actor_id or ""))
    if nested and _known(connection) == wanted:
        # Already this transaction's tenant and actor (a request's, usually):
        # nothing to set, nothing to put back.
        with transaction.atomic(using=using, savepoint=savepoint):
            yield
        return
    with transaction.atomic(using=using, savepoint=savepoint):
        outer = _swap(connection, org_id, actor_id)
        yield
        # On an exception nothing is restored: rolling back the savepoint undoes the
        # SET LOCAL, and without a savepoint the outer transaction is lost anyway.
        if nested and outer != wanted:
            _swap(connection, *(int(v) if v else None for v in outer))


def tenant_atomic(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a service in one transaction with its `organization` (and `actor`) set."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with tenant(kwargs["organization"], kwargs.get("actor")):
                return func(*args, **kwargs)
        except IntegrityError as error:
            # A race the service's own checks could not see (two writers, one
            # unique name): still an error naming the field, never a 500.
            failed = from_integrity_error(error)
            if failed is None:
                raise
            raise failed from error

    return wrapper
