"""Operator commands: createorg, createuser --role, createtoken."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_an_operator_sets_up_a_tenant_from_the_command_line(capsys):
    call_command("createorg", "acme", "Acme Inc", "--timezone", "Europe/Paris")
    call_command(
        "createuser", "acme", "Ann@Acme.test", "--role", "agent", "--password", "pw-12345-x"
    )
    capsys.readouterr()
    call_command("createtoken", "acme", "ann@acme.test")
    token = capsys.readouterr().out.strip()
    me = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "agent"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["createorg", "Bad Slug", "X"], "slug"),
        (["createuser", "nowhere", "a@b.test"], "no organization 'nowhere'"),
        (["createtoken", "nowhere", "a@b.test"], "no organization 'nowhere'"),
    ],
)
def test_bad_input_is_a_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command(*args)
