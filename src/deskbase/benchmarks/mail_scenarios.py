"""Benchmarks: incoming mail through the whole pipeline (deskbase.mail.ingest.receive).

- `mail_new_ticket`: a new message from the bench customer; each call keeps the raw
  bytes, parses, classifies, records the message once, looks for its thread (all
  four layers miss), opens a ticket by the email channel and records the decision.
- `mail_threaded_reply`: a reply to a ticket opened by mail (one per thread), its
  In-Reply-To naming the first message; the threading lookup by
  (organization, message_id_hash) finds it and the reply becomes a comment.

Each call is one message, committed. The mailbox (`bench-<org>@bench.deskbase.invalid`)
is made once per organization; the sender is the bench customer, so the subjects of
later runs never change. The caps per sender and per ticket are lifted in the bench
process (they would send the 31st message to review). `details.messages_per_second`
is messages over the time spent in the calls. Figures in docs/mail.md.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from django.conf import settings

from deskbase.benchmarks import mail_receiver
from deskbase.benchmarks.context import Context
from deskbase.benchmarks.registry import Prepared, Statement, inprocess
from deskbase.benchmarks.scenarios import bench_customer
from deskbase.core.tenancy import tenant
from deskbase.mail import ingest, receiver
from deskbase.mail.models import InboundMessage, InboundState, Mailbox, Source
from deskbase.organizations.models import Organization

BODY = (
    "Hello,\r\n\r\nour printer on the third floor shows error 0x4F since this morning.\r\n"
    "We restarted it twice. Could you have a look?\r\n\r\nThanks,\r\nBench Customer\r\n"
)
QUOTE = "\r\nOn Monday, Support <{mailbox}> wrote:\r\n> Please restart it.\r\n"
_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _message_id_lookups(statement: Statement) -> bool:
    """The reads by (organization, message_id_hash): once-only check and threading.

    (The writes cannot be replayed raw: the message is already recorded.)
    """
    return "message_id_hash" in statement.sql and statement.sql.lstrip().startswith("SELECT")


def _next() -> int:
    with _counter_lock:
        return next(_counter)


def _raw(mailbox: str, sender: str, *, subject: str, in_reply_to: str | None = None) -> bytes:
    run = uuid.uuid4().hex[:12]
    lines = [
        f"From: Bench Customer <{sender}>",
        f"To: {mailbox}",
        f"Subject: {subject}",
        "Date: Mon, 30 Nov 2026 09:00:00 +0000",
        f"Message-ID: <bench-{run}-{_next()}@mail.bench-client.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    body = BODY
    if in_reply_to:
        lines += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
        body = "It works again, thank you!\r\n" + QUOTE.format(mailbox=mailbox)
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _mailbox(organization: Organization) -> Mailbox:
    address = f"bench-{organization.id}@bench.deskbase.invalid"
    with tenant(organization):
        found = Mailbox.objects.filter(address=address).first()
        if found is not None:
            return found
        return Mailbox.objects.create(
            organization=organization, name="deskbase bench", address=address, inbound="push"
        )


def _lift_caps() -> None:
    settings.MAIL_SENDER_HOURLY_LIMIT = 10**9
    settings.MAIL_TICKET_HOURLY_LIMIT = 10**9


def _prepare(ctx: Context) -> tuple[Organization, Mailbox, str]:
    subjects = ctx.need_subjects()
    with tenant(subjects.organization_id):
        organization = Organization.objects.get(pk=subjects.organization_id)
    _lift_caps()
    return organization, _mailbox(organization), bench_customer(organization).email


def _timed(
    details: dict[str, Any], expected: str
) -> Callable[[Callable[[], InboundMessage]], Callable[[], InboundMessage]]:
    lock = threading.Lock()
    spent = [0.0]

    def wrap(receive: Callable[[], InboundMessage]) -> Callable[[], InboundMessage]:
        def call() -> InboundMessage:
            started = time.perf_counter()
            inbound = receive()
            elapsed = time.perf_counter() - started
            if inbound.state != expected:  # a figure for the wrong path would mislead
                raise RuntimeError(f"bench message ended {inbound.state}: {inbound.decision}")
            with lock:
                spent[0] += elapsed
                details["messages"] += 1
                details["messages_per_second"] = round(details["messages"] / spent[0], 1)
            return inbound

        return call

    return wrap


@inprocess("mail_new_ticket", "a new e-mail through the whole pipeline: stored, parsed,"
           " recorded once, threaded (no match), a ticket opened", writes=True,
           main_sql=_message_id_lookups)  # fmt: skip
def mail_new_ticket(ctx: Context) -> Prepared:
    organization, mailbox, sender = _prepare(ctx)
    details: dict[str, Any] = {"mailbox": mailbox.address, "sender": sender, "messages": 0,
                               "messages_per_second": None}  # fmt: skip
    timed = _timed(details, InboundState.TICKET)

    def worker(index: int) -> Callable[[], Any]:
        def receive() -> InboundMessage:
            raw = _raw(mailbox.address, sender, subject=f"Printer error {_next()}")
            return ingest.receive(mailbox=mailbox, raw=raw, source=Source.PUSH)

        return timed(receive)

    return Prepared(worker, details=details, tenant=(organization.id, None))


@inprocess("mail_threaded_reply", "an e-mail reply naming our earlier message: threading by"
           " (organization, message_id_hash), added as the customer's comment", writes=True,
           main_sql=_message_id_lookups)  # fmt: skip
def mail_threaded_reply(ctx: Context) -> Prepared:
    organization, mailbox, sender = _prepare(ctx)
    details: dict[str, Any] = {"mailbox": mailbox.address, "sender": sender, "messages": 0,
                               "messages_per_second": None}  # fmt: skip
    timed = _timed(details, InboundState.REPLY)

    def worker(index: int) -> Callable[[], Any]:
        # A ticket per thread, opened by mail (setup, not timed): threads do not queue
        # on one ticket's row lock.
        first = ingest.receive(
            mailbox=mailbox, raw=_raw(mailbox.address, sender, subject="Printer error"),
            source=Source.PUSH,
        )  # fmt: skip

        def receive() -> InboundMessage:
            raw = _raw(mailbox.address, sender, subject="Re: Printer error",
                       in_reply_to=first.message_id)  # fmt: skip
            return ingest.receive(mailbox=mailbox, raw=raw, source=Source.PUSH)

        return timed(receive)

    return Prepared(worker, details=details, tenant=(organization.id, None))


# ------------------------------------------------------------------ throughput on every core
# One receiver process is bounded by one core (the GIL); `deskbase mail serve` runs one
# per core (--processes), each with a few messages in flight on threads of its own
# (while one waits for its commit, another parses). `mail_ingest_throughput` measures
# that: each call is a batch of messages split over RECEIVERS receiver processes (the
# calling process and RECEIVERS - 1 spawned ones) of THREADS threads each, every thread
# with its own database connection (the bench's application role). By default as
# `mail serve` runs: one process per core (at least two) and receiver.THREADS threads
# each; DESKBASE_BENCH_MAIL_RECEIVERS and DESKBASE_BENCH_MAIL_THREADS set others.
#
# Each thread's batch comes from a sender of its own, new to the organization: the
# first message creates the customer and opens a ticket, then new tickets and replies to
# that first ticket alternate. The caps per sender and per ticket stay the configured
# ones (a batch stays under both), so their counts cost what they cost in production;
# lifting them instead would make each count read every message the bench sent in the
# hour, more with every run.
RECEIVERS = int(os.environ.get("DESKBASE_BENCH_MAIL_RECEIVERS") or max(2, os.cpu_count() or 2))
THREADS = int(os.environ.get("DESKBASE_BENCH_MAIL_THREADS") or receiver.THREADS)
PER_RECEIVER = 20  # messages per thread per call: 1 new sender, then new ticket / reply
_child: dict[str, Any] = {}


def _batch(mailbox: Mailbox, count: int) -> list[str]:
    """`count` messages from a new sender: a first ticket, then new tickets and replies to
    it in turn; their states."""
    sender = f"sender-{uuid.uuid4().hex[:16]}@mail.bench-client.example"
    states: list[str] = []
    first_id: str | None = None
    for n in range(count):
        if n % 2 and first_id is not None:
            raw = _raw(mailbox.address, sender, subject="Re: Printer error", in_reply_to=first_id)
        else:
            raw = _raw(mailbox.address, sender, subject=f"Printer error {_next()}")
        inbound = ingest.receive(mailbox=mailbox, raw=raw, source=Source.PUSH)
        first_id = first_id or inbound.message_id
        states.append(inbound.state)
    return states


def _threaded_batches(mailbox: Mailbox, count: int, *, own_thread_too: bool) -> list[str]:
    """THREADS batches at once, one per thread (the calling one among them when
    `own_thread_too`); the other threads' connections are closed when they are done."""
    from django.db import connections

    def in_thread() -> list[str]:
        try:
            return _batch(mailbox, count)
        finally:
            connections.close_all()

    spawned = THREADS - 1 if own_thread_too else THREADS
    with ThreadPoolExecutor(max_workers=max(spawned, 1)) as threads:
        futures = [threads.submit(in_thread) for _ in range(spawned)]
        states = _batch(mailbox, count) if own_thread_too else []
        for future in futures:
            states += future.result()
    return states


def child_start(database: dict[str, Any], media_root: str, mailbox_id: int,
                organization_id: int) -> None:  # fmt: skip
    """In each spawned receiver (after django.setup): the parent's database and files."""
    from django.db import connections

    connections["default"].settings_dict.update(database)
    settings.MEDIA_ROOT = media_root
    with tenant(organization_id):
        mailbox = Mailbox.objects.select_related("organization").get(pk=mailbox_id)
    _child.update(mailbox=mailbox)
    connections["default"].close()


def child_batch(count: int) -> list[str]:
    from django.db import connections

    try:
        return _threaded_batches(_child["mailbox"], count, own_thread_too=True)
    finally:
        # No connection left open between calls: the bench's database outlives nothing here.
        connections["default"].close()


@inprocess("mail_ingest_throughput", "incoming mail on every core: each call is a batch of"
           " new-ticket mails and threaded replies split over parallel receiver processes,"
           " each with its own connection", writes=True,
           main_sql=_message_id_lookups)  # fmt: skip
def mail_ingest_throughput(ctx: Context) -> Prepared:
    from django.db import connections

    subjects = ctx.need_subjects()
    with tenant(subjects.organization_id):
        organization = Organization.objects.get(pk=subjects.organization_id)
    mailbox = _mailbox(organization)
    details: dict[str, Any] = {"mailbox": mailbox.address, "senders": "a new one per batch",
                               "caps": [settings.MAIL_SENDER_HOURLY_LIMIT,
                                        settings.MAIL_TICKET_HOURLY_LIMIT],
                               "messages": 0, "receivers": RECEIVERS, "threads": THREADS,
                               "messages_per_call": 0,
                               "messages_per_second": None}  # fmt: skip
    database = dict(connections["default"].settings_dict)
    database["OPTIONS"] = {k: v for k, v in database["OPTIONS"].items() if k != "pool"}
    pool = ProcessPoolExecutor(
        max_workers=RECEIVERS - 1, mp_context=multiprocessing.get_context("spawn"),
        initializer=mail_receiver.start,
        initargs=(database, str(settings.MEDIA_ROOT), mailbox.id, organization.id),
    )  # fmt: skip
    lock = threading.Lock()
    spent = [0.0]

    def worker(index: int) -> Callable[[], Any]:
        def call() -> int:
            started = time.perf_counter()
            futures = [pool.submit(mail_receiver.batch, PER_RECEIVER) for _ in range(RECEIVERS - 1)]
            # The calling thread is the one the bench counts statements on: it takes a
            # batch of its own beside THREADS - 1 others.
            states = _threaded_batches(mailbox, PER_RECEIVER, own_thread_too=True)
            for future in futures:
                states += future.result()
            elapsed = time.perf_counter() - started
            wrong = set(states) - {InboundState.TICKET, InboundState.REPLY}
            if wrong:  # a figure for the wrong path would mislead
                raise RuntimeError(f"bench messages ended {sorted(wrong)}")
            with lock:
                spent[0] += elapsed
                details["messages"] += len(states)
                details["messages_per_call"] = len(states)
                details["messages_per_second"] = round(details["messages"] / spent[0], 1)
            return len(states)

        return call

    prepared = Prepared(worker, details=details, tenant=(organization.id, None))
    weakref.finalize(prepared, pool.shutdown, wait=True)  # when the run is over
    return prepared
