"""`deskbase bench` measures mail intake: a new-ticket mail and a threaded reply (no timing
asserted; committed demo data, as the bench's own connections need)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from deskbase.benchmarks import mail_scenarios
from deskbase.core.tenancy import tenant
from deskbase.demo import load_demo
from deskbase.mail.models import InboundMessage, InboundState
from deskbase.organizations.models import Organization

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_mail_scenarios_run_through_the_whole_pipeline(tmp_path, settings):
    # The scenarios lift the caps in the bench's process: under this override, which
    # the test's end undoes, so later tests get the configured caps again.
    settings.MAIL_SENDER_HOURLY_LIMIT = settings.MAIL_SENDER_HOURLY_LIMIT
    # Given the tiny demo data set
    assert load_demo(tickets=30)
    # When the two mail scenarios run
    out = StringIO()
    call_command("bench", "--scenario", "mail_new_ticket", "--scenario", "mail_threaded_reply",
                 "--samples", "5", "--warmup", "1", "--output", str(tmp_path / "bench.json"),
                 stdout=out, stderr=StringIO())  # fmt: skip
    report = json.loads(out.getvalue())
    # Then each ran without error, reporting messages per second and its raw SQL
    for name in ("mail_new_ticket", "mail_threaded_reply"):
        result = report["scenarios"][name]
        assert result["errors"] == 0, result["error_messages"]
        assert result["details"]["messages"] >= 6  # samples, warm-up (and the raw-SQL call)
        assert result["details"]["messages_per_second"] > 0
        assert result["raw_sql"].get("statements", 0) >= 1, result["raw_sql"]
    # And the messages opened tickets and joined them, as the pipeline does for real mail
    organization = Organization.objects.get(slug="demo")
    with tenant(organization):
        states = set(InboundMessage.objects.values_list("state", flat=True))
    assert states == {InboundState.TICKET, InboundState.REPLY}


def test_the_throughput_scenario_spreads_the_mail_over_parallel_receivers(
    tmp_path, settings, monkeypatch
):
    # Two threads per receiver process, not mail serve's four: a shorter run, same paths
    # (the spawned receivers read the variable, this process has the module already)
    monkeypatch.setenv("DESKBASE_BENCH_MAIL_THREADS", "2")
    monkeypatch.setattr(mail_scenarios, "THREADS", 2)
    # The configured caps (other bench runs in this process may have lifted them)
    settings.MAIL_SENDER_HOURLY_LIMIT = 30
    settings.MAIL_TICKET_HOURLY_LIMIT = 20
    # Given the tiny demo data set
    assert load_demo(tickets=30)
    # When the throughput scenario runs a few batches
    out = StringIO()
    call_command("bench", "--scenario", "mail_ingest_throughput", "--samples", "2",
                 "--warmup", "1", "--output", str(tmp_path / "bench.json"),
                 stdout=out, stderr=StringIO())  # fmt: skip
    result = json.loads(out.getvalue())["scenarios"]["mail_ingest_throughput"]
    # Then every batch went through, split over at least two receiver processes of
    # several threads each
    assert result.get("errors") == 0, result
    details = result["details"]
    assert details["receivers"] >= 2
    assert details["threads"] >= 2
    batches = details["receivers"] * details["threads"]
    assert details["messages_per_call"] == batches * 20
    assert details["messages_per_second"] > 0
    assert details["caps"] == [30, 20]  # the configured caps, never lifted
    # And the other receivers' messages are in the database beside the calling thread's:
    # each batch from a sender of its own (new customers), tickets opened and replies added
    organization = Organization.objects.get(slug="demo")
    with tenant(organization):
        received = InboundMessage.objects.filter(mailbox__address__startswith="bench-")
        assert received.filter(state=InboundState.REPLY).exists()
        senders = received.values("sender").distinct().count()
    assert senders >= 3 * batches  # two samples and the warm-up call
