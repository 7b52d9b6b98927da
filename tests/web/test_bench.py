"""The web pages' bench scenarios run over HTTP with a constant query count."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from deskbase.demo import load_demo


@pytest.fixture
def demo_data(transactional_db) -> None:
    assert load_demo(tickets=30)


def test_web_pages_are_measured_over_http(demo_data, live_server):
    out = StringIO()
    call_command("bench", "--http", live_server.url, "--samples", "3", "--warmup", "1",
                 "--scenario", "web_queue", "--scenario", "web_queue_by_priority",
                 "--scenario", "web_queue_at_risk", "--scenario", "web_queue_recent",
                 "--scenario", "web_ticket", stdout=out, stderr=StringIO())  # fmt: skip
    report = json.loads(out.getvalue())
    assert list(report["scenarios"]) == [
        "web_queue",
        "web_queue_by_priority",
        "web_queue_at_risk",
        "web_queue_recent",
        "web_ticket",
    ]
    for name, result in report["scenarios"].items():
        assert (result["samples"], result["errors"]) == (3, 0), (name, result)
        assert result["queries_min"] == result["queries_max"] > 0, (name, result)
    number = report["subjects"]["detail_number"]
    assert report["scenarios"]["web_ticket"]["details"]["path"] == f"/desk/tickets/{number}/"
