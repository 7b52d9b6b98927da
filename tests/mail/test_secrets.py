"""Mailbox secrets at rest and the per-ticket reply token."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from deskbase.mail import crypto, tokens


@pytest.fixture
def mail_key(monkeypatch):
    def use(*keys: str) -> None:
        monkeypatch.setenv("DESKBASE_MAIL_KEY", ",".join(keys))
        crypto.reset_cache()

    yield use
    crypto.reset_cache()


def test_a_secret_is_stored_encrypted_and_read_back(mail_key):
    # Given a configured key
    mail_key(Fernet.generate_key().decode())
    # When a password is encrypted
    stored = crypto.encrypt("s3cret-imap-password")
    # Then the stored text does not contain it, and decrypts back
    assert "s3cret" not in stored
    assert crypto.decrypt(stored) == "s3cret-imap-password"
    assert crypto.encrypt("") == ""
    assert crypto.decrypt("") == ""


def test_a_rotated_key_still_reads_old_secrets_and_a_lost_one_is_named(mail_key):
    # Given a secret stored under the first key
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    mail_key(old)
    stored = crypto.encrypt("pw")
    # When a new key is put in front: old secrets still read, new ones use the new key
    mail_key(new, old)
    assert crypto.decrypt(stored) == "pw"
    fresh = crypto.encrypt("pw2")
    # Then without the old key the old secret is refused with a clear error
    mail_key(new)
    assert crypto.decrypt(fresh) == "pw2"
    with pytest.raises(crypto.SecretUnreadable, match="cannot be decrypted"):
        crypto.decrypt(stored)


def test_the_key_file_is_created_once_in_var_with_owner_only_access(monkeypatch, tmp_path):
    # Given no configured key and an empty var directory
    monkeypatch.delenv("DESKBASE_MAIL_KEY", raising=False)
    monkeypatch.setenv("DESKBASE_VAR_DIR", str(tmp_path))
    crypto.reset_cache()
    try:
        # When a secret is encrypted twice
        first = crypto.encrypt("a")
        crypto.reset_cache()
        # Then one key file exists, readable by its owner only, and serves both
        path = tmp_path / "mail.key"
        assert path.stat().st_mode & 0o777 == 0o600
        assert crypto.decrypt(first) == "a"
    finally:
        crypto.reset_cache()


def test_a_ticket_token_names_one_ticket_of_one_organization(mail_key):
    # Given a key and a ticket's token
    mail_key(Fernet.generate_key().decode())
    token = tokens.ticket_token(organization_id=1, ticket_id=55, number=12)
    # Then it is valid for that ticket only: not another ticket, not another organization
    assert tokens.is_valid(token, organization_id=1, ticket_id=55)
    assert not tokens.is_valid(token, organization_id=2, ticket_id=55)
    assert not tokens.is_valid(token, organization_id=1, ticket_id=56)
    # And it is found again in a plus-address and in a subject, not in lookalikes
    address = tokens.reply_address("support@acme.example", token)
    assert address == f"support+{token}@acme.example"
    assert tokens.in_address(address) == token
    assert tokens.in_address("support@acme.example") is None
    assert tokens.in_text(f"Re: Printer [#{token}] again {tokens.bracketed(token)}") == [token]
    assert tokens.in_text(f"order #{token.number}") == []
