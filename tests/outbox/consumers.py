"""Outbox consumers for the tests that run a real worker process
(DESKBASE_OUTBOX_CONSUMERS=tests.outbox.consumers).

`test.record` performs its effect outside the worker's transaction, like an e-mail
sent: it adds the key to outbox_test_effect through a connection of its own, once per
key (the consumer is idempotent by key), and counts every call in `deliveries`. With
{"block": {"started": path, "release": path}} it first records, then touches
`started` and waits for `release` to exist: the worker can be killed while it holds
the rows it claimed, after the effect and before the delivery is marked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg

from deskbase import outbox

EFFECT_TABLE = """
CREATE TABLE IF NOT EXISTS outbox_test_effect (
    key text PRIMARY KEY,
    deliveries integer NOT NULL DEFAULT 1
)
"""


def record_effect(conninfo: str, key: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO outbox_test_effect (key) VALUES (%s) ON CONFLICT (key)"
            " DO UPDATE SET deliveries = outbox_test_effect.deliveries + 1",
            [key],
        )


@outbox.consumer("test.record")
def record(payload: dict, key: str) -> None:
    record_effect(os.environ["DESKBASE_TEST_EFFECT_URL"], key)
    block = payload.get("block")
    if block:
        Path(block["started"]).touch()
        deadline = time.monotonic() + 300
        while not Path(block["release"]).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
