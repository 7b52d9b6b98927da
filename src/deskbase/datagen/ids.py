"""Ids the load assigns itself, so that rows can refer to each other before they are sent."""

from __future__ import annotations


class Ids:
    """The next free id of each table, from the largest id or sequence value found."""

    def __init__(self, last: dict[str, int]) -> None:
        self._next = {table: value + 1 for table, value in last.items()}

    def take(self, table: str, count: int = 1) -> int:
        """The first of `count` consecutive new ids of `table`."""
        first = self._next[table]
        self._next[table] = first + count
        return first

    def peek(self, table: str) -> int:
        return self._next[table]
