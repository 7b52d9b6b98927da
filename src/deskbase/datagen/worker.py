"""Generating in a second process, so that Python and PostgreSQL's COPY run side by side.

The generator is pure Python and keeps one core busy; PostgreSQL parses and stores on
the other. In one process, a thread sending COPY data would wait for the GIL behind
the generator at every socket write (a 24 MB COPY takes 6x longer next to a busy
thread), so the two would take turns. Instead, for large loads the command starts
`python -m deskbase.datagen.worker FD`, hands it the job as JSON on stdin, and the
worker writes frames to the pipe FD:

    <table> <rows> <tickets so far> <bytes>\\n<bytes of COPY text>
    done 0 0 <bytes>\\n<the summary as JSON>

The command keeps the database connection and its one transaction: a thread reads
frames into a short queue and the main thread COPYs them. The worker never touches
the database. If it dies, the frames stop without `done` and the load rolls back.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # plan imports models: the worker may import it only after django.setup()
    from deskbase.datagen.plan import Job, Summary

COMMAND = [sys.executable, "-m", "deskbase.datagen.worker"]  # + the pipe's fd
PIPE_BYTES = 1 << 20  # fewer wake-ups than the default 64 KiB (Linux may refuse: fine)
QUEUE_FRAMES = 24  # about two chunks of 10,000 tickets read ahead


class WorkerFailed(Exception):
    """The worker process ended without finishing its job."""


# ------------------------------------------------------------------ the worker process
class FrameWriter:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out

    def send(self, table: str, rows: list[str], tickets: int) -> None:
        data = "".join(rows).encode()
        self.out.write(f"{table} {len(rows)} {tickets} {len(data)}\n".encode())
        self.out.write(data)

    def done(self, summary: Summary) -> None:
        data = json.dumps(summary.as_json()).encode()
        self.out.write(f"done 0 0 {len(data)}\n".encode())
        self.out.write(data)
        self.out.flush()


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deskbase.settings")
    import django

    django.setup()
    from deskbase.datagen.plan import Job, produce

    job = Job.from_json(json.load(sys.stdin))
    with os.fdopen(int(argv[0]), "wb") as out:
        sink = FrameWriter(out)
        sink.done(produce(job, sink))
    return 0


# ------------------------------------------------------------------ the command's side
class Frame:
    __slots__ = ("data", "rows", "table", "tickets")

    def __init__(self, header: bytes, data: bytes) -> None:
        table, rows, tickets, _ = header.decode().split()
        self.table, self.rows, self.tickets, self.data = table, int(rows), int(tickets), data


def run(job: Job, copy: Callable[[Frame], None]) -> Summary:
    """Generate `job` in a worker process; `copy(frame)` stores each frame of rows."""
    from deskbase.datagen.plan import Summary

    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    process = subprocess.Popen(
        [*COMMAND, str(write_end)],
        stdin=subprocess.PIPE, pass_fds=(write_end,),
    )  # fmt: skip
    os.close(write_end)
    reader = _Reader(os.fdopen(read_end, "rb"))
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps(job.as_json()).encode())
        process.stdin.close()
        for frame in reader:
            if frame.table == "done":
                return Summary.from_json(json.loads(frame.data))
            copy(frame)
        code = process.wait()
        raise WorkerFailed(f"the generator process stopped (exit code {code}); see above")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.close()


class _Reader:
    """Reads frames in a thread (in read(), without the GIL) into a short queue."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._run, name="datagen-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.closed.is_set():
                header = self.stream.readline()
                if not header:
                    break
                size = int(header.split()[-1])
                data = self.stream.read(size)
                if len(data) != size:
                    break
                self._put(Frame(header, data))
        except (OSError, ValueError):  # the pipe closed under us: the end, like EOF
            pass
        self._put(None)

    def _put(self, item: Frame | None) -> None:
        while not self.closed.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.queue.get()) is not None:
            yield frame

    def close(self) -> None:
        self.closed.set()
        self.stream.close()
        self.thread.join(timeout=5)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
