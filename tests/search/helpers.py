"""Searching as a person of a tenant, through the selector the API calls."""

from __future__ import annotations

from typing import Any

from deskbase.search import selectors


def search(user: Any, text: str, **kwargs: Any) -> selectors.Results:
    return selectors.search(user=user, text=text, **kwargs)


def numbers(results: selectors.Results, group: str = "tickets") -> list[int]:
    return [row["number"] for row in results.groups[group].items]
