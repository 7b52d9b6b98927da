"""Two admins saving rules at once (committed transactions, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connections

from deskbase.automation.models import Rule
from tests.automation.helpers import make_rule

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_rules_created_at_once_both_get_a_position(tenant_a):
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            rule = make_rule(tenant_a, f"Rule {i}", events=["ticket.created"],
                             actions=[{"type": "add_tags", "tags": ["x"]}])  # fmt: skip
            results[i] = rule.position
        except Exception as error:  # inspected below
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    assert results in ([1, 2], [2, 1])
    assert Rule.objects.count() == 2
