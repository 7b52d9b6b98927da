"""`deskbase worker` asked to stop (SIGTERM, what `deskbase up` and service managers
send) at any moment of its start-up or work exits 0, after the job and the delivery
batch in progress: no connection attempt, pool or thread keeps it alive. Real worker
processes; the bound on their exit is a hang check, far above a normal stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, transaction

from deskbase import outbox
from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE
from tests.fault.processes import wait_until
from tests.helpers import DESKBASE, deskbase_env, stop_process
from tests.outbox.consumers import EFFECT_TABLE
from tests.outbox.test_crash import REPO, query

pytestmark = pytest.mark.slow

HANG = 60  # seconds: a worker not gone by then is stuck, not slow


class Unanswering:
    """A TCP server that accepts connections and never answers: every connection
    attempt to it waits for its connect_timeout."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(client)

    def close(self) -> None:
        self.server.close()
        for client in self.accepted:
            client.close()


@pytest.fixture
def unanswering() -> Iterator[Unanswering]:
    server = Unanswering()
    yield server
    server.close()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([DESKBASE, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)


def exit_code(worker: subprocess.Popen, log: Path) -> int:
    """The worker's exit code once it has exited (the test fails if it hangs)."""
    try:
        return worker.wait(HANG)
    except subprocess.TimeoutExpired:
        stop_process(worker)
        pytest.fail(f"the worker did not exit within {HANG} s of SIGTERM:\n{log.read_text()}")


def test_a_worker_stopped_while_its_connections_are_being_opened_exits_0(unanswering, workdir):
    # Given a database server that accepts connections and does not answer them yet
    url = f"postgresql://{OWNER_ROLE}:secret@127.0.0.1:{unanswering.port}/deskbase"
    env = deskbase_env(
        DATABASE_URL=url,
        DATABASE_APP_URL=url.replace(OWNER_ROLE, APP_ROLE),
        DESKBASE_VAR_DIR=str(workdir / "var"),
        DESKBASE_DB_CONNECT_TIMEOUT="5",
    )
    log = workdir / "worker.log"
    # And a worker starting against it: its outbox listener and the job queue's
    # connection pool are connecting (more connections than the listener's and
    # Django's alone)
    worker = start_worker(env, log)
    try:
        wait_until(
            lambda: len(unanswering.accepted) >= 4 or worker.poll() is not None,
            120, "the worker's connection attempts",
        )  # fmt: skip
        assert worker.poll() is None, log.read_text()
        # When it is asked to stop
        worker.send_signal(signal.SIGTERM)
        code = exit_code(worker, log)
    finally:
        if worker.poll() is None:
            stop_process(worker)
    # Then it exits 0: a requested stop, although nothing could connect
    assert code == 0, log.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_worker_stopped_during_a_delivery_batch_finishes_it_and_exits_0(
    session_cluster, workdir, tenant_a
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
        # Given an effect whose consumer blocks until released
        with transaction.atomic():
            block = {"started": str(started), "release": str(release)}
            outbox.enqueue(tenant_a.org, "test.record", "blocking", {"block": block})
        # And a worker delivering it
        worker = start_worker(env, log)
        wait_until(started.exists, 120, f"the worker's delivery ({log.read_text()})")
        # When it is asked to stop in the middle of the batch, which then ends
        worker.send_signal(signal.SIGTERM)
        release.touch()
        code = exit_code(worker, log)
        # Then it exits 0, after delivering the batch it had started
        assert code == 0, log.read_text()
        assert query(owner_url, "SELECT state FROM outbox_message") == [("delivered",)]
    finally:
        release.touch()
        if worker is not None and worker.poll() is None:
            stop_process(worker)
        query(owner_url, "DROP TABLE IF EXISTS outbox_test_effect")
