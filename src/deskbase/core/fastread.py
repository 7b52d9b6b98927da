"""Rows every request reads, turned into instances without compiling a query each time.

Each request loads who is calling: a user through the session, or a token and its
user. Django builds and compiles those queries anew every time, which costs several
times what PostgreSQL spends answering them. A `RowReader` knows a model's columns
once; its callers run fixed SQL text (which the connection also prepares) and it
makes instances the way the ORM does: every concrete field, each field's converters
applied (e.g. a JSON field's), `Model.from_db`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import Model


class RowReader[M: Model]:
    """`where`: the model's default manager's own filter, in SQL on the alias `m`."""

    def __init__(self, model: type[M], where: str = "") -> None:
        self.model = model
        fields = self.model._meta.concrete_fields
        self.names = [field.attname for field in fields]
        self._columns = [field.column for field in fields]
        self._fields = fields
        self._converters: dict[str, dict[int, tuple[list, Any]]] = {}
        table, pk_column = self.model._meta.db_table, self.model._meta.pk.column
        self._get_sql = (
            f'SELECT {self.columns("m")} FROM "{table}" m WHERE m."{pk_column}" = %s'  # noqa: S608
            + (f" AND {where}" if where else "")
        )

    def columns(self, alias: str) -> str:
        """The SELECT list of every concrete field, in `names` order: `alias.column, ...`."""
        return ", ".join(f'{alias}."{column}"' for column in self._columns)

    def _converters_for(self, using: str) -> dict[int, tuple[list, Any]]:
        found = self._converters.get(using)
        if found is None:
            connection = connections[using]
            found = {}
            for position, field in enumerate(self._fields):
                expression = field.get_col(self.model._meta.db_table)
                functions = connection.ops.get_db_converters(
                    expression
                ) + expression.get_db_converters(connection)
                if functions:
                    found[position] = (functions, expression)
            self._converters[using] = found
        return found

    def build(self, values: Sequence[Any], using: str = "default") -> M:
        """The instance of one row's values (in `names` order)."""
        converters = self._converters_for(using)
        if converters:
            connection = connections[using]
            values = list(values)
            for position, (functions, expression) in converters.items():
                for convert in functions:
                    values[position] = convert(values[position], expression, connection)
        return self.model.from_db(using, self.names, values)

    def get(self, pk: Any, using: str = "default") -> M | None:
        """The row with this primary key, as the default manager finds it (`where`)."""
        with connections[using].cursor() as cursor:
            cursor.execute(self._get_sql, [pk])
            row = cursor.fetchone()
        return None if row is None else self.build(row, using)
