"""The customer page and time report bench scenarios run on the demo data. Times are
never asserted."""

from __future__ import annotations

import pytest

from deskbase.demo import load_demo
from tests.benchmarks.test_bench import bench


@pytest.fixture
def demo_data(transactional_db) -> None:
    assert load_demo(tickets=30)


def test_customer_page_and_time_report_scenarios_run(demo_data):
    report = bench("--scenario", "customer_page", "--scenario", "time_report",
                   "--samples", "5", "--warmup", "1")  # fmt: skip
    for name in ("customer_page", "time_report"):
        result = report["scenarios"][name]
        assert result["errors"] == 0, result.get("error_messages")
        assert result["queries_min"] == result["queries_max"] > 0
    assert report["scenarios"]["time_report"]["details"]["entries"] > 0
    assert report["scenarios"]["customer_page"]["details"]["rows"] > 0
