"""A real Dovecot IMAP server for the mail tests, started from a config in a temp dir.

It listens on 127.0.0.1 on a free port, plaintext (loopback only), with users in a
static passwd-file and maildirs in the temp dir. Dovecot's own processes refuse to
run as root: as root (CI) its internal and login processes run as the `dovecot` and
`dovenull` users the Debian package creates, and the mail as `dovecot`; as anyone
else everything runs as the current user. Test messages go in by IMAP APPEND.

`Dovecot.start(tmp, users)` / `.stop()`; the `dovecot` fixture gives one per test, with
the logins of USERS (a fresh server each time: no mail or UIDVALIDITY carries over).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from deskbase.mail import crypto
from deskbase.mail.models import Inbound, Mailbox, Security
from deskbase.testing.plugin import free_port

DOVECOT = "/usr/sbin/dovecot"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = {gid}
mail_location = maildir:{base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {base}/users
}}
# No chroot: a process that is not root may not chroot (and loopback tests need none).
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
# No login penalty: Dovecot delays every login from an address after a failed one
# (up to 15 s), which would slow the wrong-password tests' other mailboxes. Without
# access to this socket the auth process runs without penalties.
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


# The logins of every test server: one mail account per test organization.
USERS = {"acme": "acme-imap-pw", "globex": "globex-imap-pw"}


def available() -> bool:
    return os.access(DOVECOT, os.X_OK)


@dataclass
class Dovecot:
    base: Path
    port: int
    users: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    host: str = "127.0.0.1"

    @classmethod
    def start(
        cls, base: Path, users: dict[str, str] | None = None, *, extra_config: str = ""
    ) -> Dovecot:
        server = cls(base=base, port=free_port(), users=dict(users or {}))
        server._write_config(extra_config)
        server.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(base / "dovecot.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        server._wait_until_listening()
        return server

    # ------------------------------------------------------------------ set-up
    def _identity(self) -> tuple[int, int, str, str, str]:
        """(uid, gid, internal user, internal group, login user) of the mail processes."""
        if os.geteuid() == 0:
            mail = pwd.getpwnam("dovecot")
            return (mail.pw_uid, mail.pw_gid, "dovecot", grp.getgrgid(mail.pw_gid).gr_name,
                    "dovenull")  # fmt: skip
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        return os.geteuid(), os.getegid(), me.pw_name, group, me.pw_name

    def _write_config(self, extra: str = "") -> None:
        uid, gid, internal_user, internal_group, login_user = self._identity()
        self.uid, self.gid = uid, gid
        for sub in ("run", "state", "mail"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)  # the mail user traverses it
        if os.geteuid() == 0:
            os.chown(self.base / "mail", uid, gid)
        self._write_users()
        text = CONFIG.format(
            base=self.base, port=self.port, uid=uid, gid=gid, internal_user=internal_user,
            internal_group=internal_group, login_user=login_user,
        )  # fmt: skip
        (self.base / "dovecot.conf").write_text(text + extra)

    def _write_users(self) -> None:
        lines = [
            f"{user}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{self.base}/mail/{user}\n"
            for user, password in self.users.items()
        ]
        path = self.base / "users"
        path.write_text("".join(lines))
        os.chmod(path, 0o644)

    def _wait_until_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.process.returncode}: {self.log()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {self.port} in {timeout} s: {self.log()}")

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)

    # ------------------------------------------------------------------ IMAP as a test
    @contextlib.contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=120)
        try:
            imap.login(user, self.users[user])
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Deliver `raw` to `folder`; its UID."""
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            answer = imap.append(folder, raw)
        # "[APPENDUID <uidvalidity> <uid>] Append completed."
        return int(answer.split(b"]")[0].split()[-1])

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[bytes]]:
        """Each message's UID and flags (read without changing them)."""
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            fetched = imap.fetch(uids, ["FLAGS"]) if uids else {}
        return {uid: set(data[b"FLAGS"]) for uid, data in fetched.items()}

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                return []
            imap.select_folder(folder, readonly=True)
            return sorted(imap.search("ALL"))

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.client(user) as imap:
            return int(imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate(self, user: str, folder: str, messages: list[bytes]) -> None:
        """Delete `folder` and make it again holding `messages`: a new UIDVALIDITY."""
        with self.client(user) as imap:
            imap.delete_folder(folder)
            imap.create_folder(folder)
        for raw in messages:
            self.append(user, raw, folder)


@contextlib.contextmanager
def running_dovecot(extra_config: str = "") -> Iterator[Dovecot]:
    if not available():
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    base = Path(tempfile.mkdtemp(prefix="deskbase-dovecot-", dir="/tmp"))
    server = Dovecot.start(base, USERS, extra_config=extra_config)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(name="dovecot")
def dovecot_fixture() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def imap_mailbox(world: Any, server: Dovecot, user: str, **fields: Any) -> Mailbox:
    """A mailbox of `world`'s organization fetching `user`'s mail from `server`."""
    return Mailbox.objects.create(
        organization=world.org, name=fields.pop("name", "Support"),
        address=fields.pop("address", f"{user}@{world.org.slug}.test"),
        inbound=Inbound.IMAP, imap_host=server.host, imap_port=fields.pop("port", server.port),
        imap_security=Security.NONE, imap_username=user,
        imap_password=crypto.encrypt(fields.pop("password", server.users[user])), **fields,
    )  # fmt: skip
