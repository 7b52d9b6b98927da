"""Secrets at rest: mailbox passwords and DKIM keys, encrypted with a key outside the database.

The key is `DESKBASE_MAIL_KEY` when set, else `var/mail.key` (created once, mode 0600).
Either holds one or more Fernet keys, one per line (or comma-separated): the first
encrypts, every one decrypts, so a key is rotated by putting a new one first and
re-saving the mailboxes. A database dump alone therefore never reveals a password;
back the key up with `var/` (docs/mail.md).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from deskbase import config

_create_lock = threading.Lock()


class SecretUnreadable(Exception):
    """A stored secret that the configured keys cannot decrypt (a lost or rotated-out key)."""


def key_material() -> str:
    """The configured key text (one or more keys); created in var/ on first use."""
    configured = os.environ.get("DESKBASE_MAIL_KEY")
    if configured:
        return configured
    path = config.var_dir() / "mail.key"
    with _create_lock:
        try:
            return path.read_text()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use that one
            return path.read_text()
        key = Fernet.generate_key().decode()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key


def keys() -> list[str]:
    found = [k.strip() for k in key_material().replace(",", "\n").splitlines() if k.strip()]
    if not found:
        raise SecretUnreadable("the mail key is empty (DESKBASE_MAIL_KEY or var/mail.key)")
    return found


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys()])


def encrypt(plain: str) -> str:
    """The secret encrypted for storage; an empty secret stays empty (nothing to hide)."""
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a stored mailbox secret cannot be decrypted with the configured mail key"
        ) from None


def reset_cache() -> None:
    """Forget the loaded keys (tests that change DESKBASE_MAIL_KEY)."""
    _fernet.cache_clear()
