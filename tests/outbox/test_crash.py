"""The job worker killed with -9 in the middle of a delivery loses nothing, and once
started again delivers every effect: at least once per row, once per key in effect
(the consumer is idempotent by its key). Real `deskbase worker` processes on the
suite's database."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.db import connection, transaction

from deskbase import outbox
from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE
from tests.fault.processes import wait_until
from tests.helpers import DESKBASE, deskbase_env, stop_process
from tests.outbox.consumers import EFFECT_TABLE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([DESKBASE, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def unclaimed_pending(url: str) -> int:
    """Pending rows nobody holds: what another deliverer could claim right now."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM (SELECT id FROM outbox_message WHERE state = 'pending'"
            " FOR UPDATE SKIP LOCKED) AS free"
        ).fetchone()[0]


def test_a_worker_killed_mid_delivery_loses_nothing_and_each_effect_happens_once(
    session_cluster, workdir, tenant_a, tenant_b
):
    database = connection.settings_dict["NAME"]
    owner_url = session_cluster.url(OWNER_ROLE, database=database)
    env = deskbase_env(
        DATABASE_URL=owner_url,
        DATABASE_APP_URL=session_cluster.url(APP_ROLE, database=database),
        DESKBASE_VAR_DIR=str(workdir / "var"),
        DESKBASE_OUTBOX_CONSUMERS="tests.outbox.consumers",
        DESKBASE_TEST_EFFECT_URL=owner_url,
        PYTHONPATH=str(REPO),
    )
    log = workdir / "worker.log"
    started, release = workdir / "started", workdir / "release"
    query(owner_url, EFFECT_TABLE)
    worker = None
    try:
        # Given 30 effects of two organizations, the last one's consumer call blocking
        # after its effect (as if the process died before marking the batch delivered)
        with transaction.atomic():
            for n in range(20):
                outbox.enqueue(tenant_a.org, "test.record", f"acme-{n}", {"n": n})
            for n in range(10):
                block = {"started": str(started), "release": str(release)} if n == 9 else None
                outbox.enqueue(tenant_b.org, "test.record", f"globex-{n}", {"block": block})

        # When a worker delivers them and is killed with -9 while it holds its batch
        worker = start_worker(env, log)
        wait_until(started.exists, 120, f"the worker's blocking delivery ({log.read_text()})")
        assert query(owner_url, "SELECT state, count(*) FROM outbox_message GROUP BY 1") == [
            ("pending", 30)
        ]
        assert unclaimed_pending(owner_url) == 0  # all 30 claimed by the worker
        assert query(owner_url, "SELECT count(*), sum(deliveries) FROM outbox_test_effect") == [
            (30, 30)
        ]
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(30) == -signal.SIGKILL

        # Then nothing is lost: the 30 rows are pending again, claimable by anyone
        wait_until(
            lambda: unclaimed_pending(owner_url) == 30, 30, "the dead worker's claims ending"
        )
        # ... and effects written while no worker runs wait for the next one
        with transaction.atomic():
            for n in range(5):
                outbox.enqueue(tenant_a.org, "test.record", f"acme-late-{n}", {"n": n})

        # When a worker starts again
        release.touch()
        worker = start_worker(env, log)
        wait_until(
            lambda: query(owner_url, "SELECT count(*) FROM outbox_message WHERE state <> "
                          "'delivered'")[0][0] == 0,
            120, f"every row delivered ({log.read_text()[-2000:]})",
        )  # fmt: skip

        # Then every row is delivered, and every effect happened once per key: the
        # 30 of the killed batch were delivered twice (at least once), the 5 later once
        rows = query(
            owner_url, "SELECT state, attempts, count(*) FROM outbox_message GROUP BY 1, 2"
        )
        assert rows == [("delivered", 1, 35)]
        effects = dict(query(owner_url, "SELECT key, deliveries FROM outbox_test_effect"))
        assert len(effects) == 35
        assert {k: v for k, v in effects.items() if v != 2} == {
            f"acme-late-{n}": 1 for n in range(5)
        }

        # And the worker stops cleanly when asked
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if worker is not None and worker.poll() is None:
            stop_process(worker)
        query(owner_url, "DROP TABLE IF EXISTS outbox_test_effect")
