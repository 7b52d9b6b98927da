"""Every request and response schema of the API has a name of its own: the OpenAPI
document keys its components by class name, so two schemas with one name would make
the document describe one endpoint with the other's fields."""

from __future__ import annotations

from collections import defaultdict

from ninja import Schema

import deskbase.api.main  # noqa: F401 (every router and its schemas)


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_no_two_api_schemas_share_a_name() -> None:
    modules: dict[str, set[str]] = defaultdict(set)
    for schema in _subclasses(Schema):
        if schema.__module__.startswith("deskbase."):
            modules[schema.__name__].add(schema.__module__)
    assert {name: where for name, where in modules.items() if len(where) > 1} == {}
