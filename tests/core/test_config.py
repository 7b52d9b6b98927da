"""Settings from the environment: secret key, database URLs, flags."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deskbase import config


def test_secret_key_is_generated_once_private_and_random(tmp_path, monkeypatch):
    # Given no key in the environment and an empty var directory
    monkeypatch.delenv("DESKBASE_SECRET_KEY", raising=False)
    monkeypatch.setenv("DESKBASE_VAR_DIR", str(tmp_path))
    # When the key is read twice
    first = config.secret_key()
    second = config.secret_key()
    # Then it was written once, readable by the operator alone, and is stable
    key_file = tmp_path / "secret_key"
    assert first == second == key_file.read_text()
    assert len(first) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    # And another installation gets another key
    monkeypatch.setenv("DESKBASE_VAR_DIR", str(tmp_path / "other"))
    assert config.secret_key() != first


def test_secret_key_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKBASE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DESKBASE_SECRET_KEY", "from-the-environment")
    assert config.secret_key() == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_external_database_urls(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://owner:pw@db.example:5433/desk")
    monkeypatch.delenv("DATABASE_APP_URL", raising=False)
    assert not config.embedded()
    # Without an application URL, the one URL serves both roles
    assert config.database_url("app") == config.database_url("owner")
    monkeypatch.setenv("DATABASE_APP_URL", "postgresql://app:pw@db.example:5433/desk")
    assert config.database_url("app").startswith("postgresql://app:")


def test_embedded_database_url_uses_the_socket(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DESKBASE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DESKBASE_PG_PORT", "55555")
    assert config.database_url("app") == (
        f"postgresql://deskbase_app@/deskbase?host={tmp_path}/run&port=55555"
    )
    assert config.database_url("owner").startswith("postgresql://deskbase_owner@/")


def test_a_malformed_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DESKBASE_PG_PORT", "fifty")
    with pytest.raises(SystemExit, match="DESKBASE_PG_PORT must be a whole number"):
        config.env_int("DESKBASE_PG_PORT", 1)


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("off", False), ("1", True)])
def test_flags(monkeypatch, value, expected):
    monkeypatch.setenv("DESKBASE_SERVER_TIMING", value)
    assert config.env_bool("DESKBASE_SERVER_TIMING", True) is expected


def test_debug_is_off_by_default():
    env = {k: v for k, v in os.environ.items() if k != "DESKBASE_DEBUG"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
