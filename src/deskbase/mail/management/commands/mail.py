"""`deskbase mail fetch|serve`: inbound mail by IMAP and by SMTP/LMTP (docs/mail-servers.md).

- `fetch [--mailbox ID] [--once]`: read the IMAP mailboxes (every active one of every
  organization, or one). With `--once`, one pass each, a line per mailbox saying
  what happened, and exit 1 if any failed; without it, keep them fetched (IDLE or
  polling) until stopped, as `deskbase worker` does.
- `serve [--lmtp] [--host H] [--port N] [--processes N]`: the receiver for push
  mailboxes; N processes (DESKBASE_MAIL_PROCESSES, else one per core) share the port.

Runs as the owner role, which sees every organization's mailboxes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase import config
from deskbase.mail import fetching, imap
from deskbase.mail.models import Inbound, Mailbox

DEFAULT_PORT = 2525


class Command(BaseCommand):
    help = "Inbound mail: fetch the IMAP mailboxes, or serve SMTP/LMTP for push mailboxes."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        fetch = actions.add_parser("fetch", help="read the IMAP mailboxes")
        fetch.add_argument("--mailbox", type=int, help="only the mailbox with this id")
        fetch.add_argument(
            "--once", action="store_true", help="one pass over each, then exit (1 if one failed)"
        )
        serve = actions.add_parser("serve", help="receive pushed mail by SMTP or LMTP")
        serve.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")
        serve.add_argument("--host", default=os.environ.get("DESKBASE_MAIL_HOST") or "127.0.0.1")
        serve.add_argument("--port", type=int,
                           default=config.env_int("DESKBASE_MAIL_PORT", DEFAULT_PORT))  # fmt: skip
        serve.add_argument(
            "--processes", type=int,
            default=config.env_int("DESKBASE_MAIL_PROCESSES", os.cpu_count() or 1),
            help="receiver processes sharing the port (default: one per core)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"do_{options['action']}")(options)

    # ------------------------------------------------------------------ fetch
    def do_fetch(self, options: dict[str, Any]) -> None:
        mailboxes = Mailbox.objects.filter(inbound=Inbound.IMAP).order_by("organization_id", "id")
        if options["mailbox"] is not None:
            mailboxes = mailboxes.filter(pk=options["mailbox"])
            if not mailboxes.exists():
                raise CommandError(f"no IMAP mailbox with id {options['mailbox']}")
        else:
            mailboxes = mailboxes.filter(is_active=True)
        if not options["once"]:
            self._keep_fetching([m.pk for m in mailboxes], options["mailbox"] is not None)
            return
        failed = []
        for mailbox in mailboxes:
            result = imap.fetch_once(mailbox)
            self.stdout.write(f"mailbox {mailbox.pk} {mailbox.address}: {result.describe()}")
            if not result.ok:
                failed.append(f"{mailbox.address}: {result.error or 'messages failed'}")
        if not failed and not mailboxes:
            self.stdout.write("no IMAP mailbox to fetch")
        if failed:
            raise CommandError("fetching failed for " + "; ".join(failed))

    def _keep_fetching(self, ids: list[int], only: bool) -> None:
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        if only:
            mailbox = Mailbox.objects.get(pk=ids[0])
            loop = fetching.FetchLoop(mailbox.pk, mailbox.organization_id).start()
            while not stopping.wait(1):
                pass
            loop.stop()
            loop.join(10)
            return
        supervisor = fetching.MailFetching().start()
        self.stdout.write("fetching the IMAP mailboxes until stopped (Ctrl-C)")
        while not stopping.wait(1):
            pass
        supervisor.stop()

    # ------------------------------------------------------------------ serve
    def do_serve(self, options: dict[str, Any]) -> None:
        processes = options["processes"]
        if not 1 <= processes <= 64:
            raise CommandError(f"--processes must be 1 to 64, not {processes}")
        # aiosmtpd logs every command at INFO: keep the log for what goes wrong.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        # The other receivers are forked before any thread or connection exists; each
        # listens on the same port. When one ends, the others stop and the command
        # exits 1, so that whoever supervises it (`deskbase up`) starts them all again.
        children: list[int] = []
        for _ in range(processes - 1):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    self._serve_one(options, shared=True, children=[])
                    code = 0
                except CommandError as error:
                    self.stderr.write(str(error))
                finally:
                    os._exit(code)
            children.append(pid)
        try:
            self._serve_one(options, shared=processes > 1, children=children)
        finally:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            for pid in children:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    def _serve_one(self, options: dict[str, Any], *, shared: bool, children: list[int]) -> None:
        from deskbase.mail.receiver import controller

        server = controller(host=options["host"], port=options["port"], lmtp=options["lmtp"],
                            shared_port=shared)  # fmt: skip
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        try:
            server.start()
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {options['host']}:{options['port']}: {exc.strerror or exc}"
            ) from None
        protocol = "LMTP" if options["lmtp"] else "SMTP"
        self.stdout.write(f"receiving mail by {protocol} on {options['host']}:{options['port']}"
                          f" (process {os.getpid()})")  # fmt: skip
        self.stdout.flush()
        try:
            while not stopping.wait(1):
                ended = [pid for pid in children if os.waitpid(pid, os.WNOHANG)[0]]
                if ended:
                    raise CommandError(f"receiver process {ended[0]} ended; stopping the others")
        finally:
            server.stop()
