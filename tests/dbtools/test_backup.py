"""`deskbase backup` and `deskbase restore`: a dump taken, the data changed, the dump restored."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from deskbase.organizations.models import Organization
from deskbase.tickets.models import Ticket
from tests.conftest import make_tenant
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_backup_restores_the_data_as_it_was(workdir):
    # Given an organization with a ticket, backed up
    world = make_tenant("roundtrip")
    ticket = open_ticket(world, subject="Before the backup")
    dump = workdir / "deskbase.dump"
    out = io.StringIO()
    call_command("backup", "--output", str(dump), stdout=out)
    assert dump.stat().st_size > 0
    assert "deskbase restore" in out.getvalue()
    # And changes made after it
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET subject = 'After' WHERE id = %s", [ticket.id])
    make_tenant("latecomer")

    # When the backup is restored
    call_command("restore", str(dump), stdout=io.StringIO())

    # Then the data is as it was, history and row-level security included
    assert Ticket.all_objects.get(id=ticket.id).subject == "Before the backup"
    assert not Organization.objects.filter(slug="latecomer").exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM tickets_tickethistory WHERE ticket_id = %s", [ticket.id]
        )
        assert cursor.fetchone()[0] >= 1
        cursor.execute("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'tickets_ticket'")
        assert cursor.fetchone() == (True,)
        cursor.execute("SELECT has_table_privilege('deskbase_app', 'tickets_ticket', 'SELECT')")
        assert cursor.fetchone() == (True,)
    # And a new ticket still gets a number and a history row from the triggers
    again = open_ticket(world, subject="After the restore")
    assert again.number == ticket.number + 1


def test_restoring_a_file_that_is_not_a_dump_fails_and_changes_nothing(workdir):
    world = make_tenant("keep")
    bogus = workdir / "not-a-dump"
    bogus.write_text("hello")
    with pytest.raises(CommandError, match="left as it was"):
        call_command("restore", str(bogus))
    assert Organization.objects.filter(id=world.org.id).exists()
