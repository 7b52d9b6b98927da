"""Attachments: safe names, sniffed types, one file per content, and who may see what."""

from __future__ import annotations

import io
import random
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import IntegrityError
from hypothesis import given
from hypothesis import strategies as st

from deskbase.core import events
from deskbase.core.errors import Conflict, NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets import attachments
from deskbase.tickets.attachments import (
    CHUNK_BYTES,
    attachment_add,
    attachment_open,
    sanitize_file_name,
    sniff_content_type,
    store,
)
from deskbase.tickets.models import CommentKind, Ticket, TicketAttachment, TicketComment
from tests.helpers import PNG, assert_sql_refused, make_ticket


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def published() -> Iterator[list[events.Event]]:
    seen: list[events.Event] = []
    handler = events.subscribe("attachment.added")(seen.append)
    yield seen
    events.unsubscribe("attachment.added", handler)


def files_on_disk(media: Path) -> list[Path]:
    """Every file under the attachment store, temporary ones included."""
    root = media / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def attach(world, ticket, data: bytes, name: str = "notes.txt", actor=None, **kwargs):
    return attachment_add(
        organization=world.org, actor=actor or world.agent, ticket=ticket,
        stream=io.BytesIO(data), file_name=name, **kwargs,
    )  # fmt: skip


def other_customer(world):
    from deskbase.accounts.models import User

    return User.objects.create_user(
        f"other@{world.org.slug}.test", "pw-for-tests-1", organization=world.org, role="customer"
    )


def attachment_count(world) -> int:
    with tenant(world.org):
        return TicketAttachment.objects.count()


# ------------------------------------------------------------------ file names
@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.txt", "y.txt"),
        ("/var/www/../..\\..\\boot.ini", "boot.ini"),
        ("re\x00port.pdf", "report.pdf"),
        ("  my \t  file\n name .txt ", "my file name .txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # no right-to-left override disguise
        ('a<b>:"c"|?*.txt', "a_b___c____.txt"),
        ("report.pdf...  ", "report.pdf"),
        (".bashrc", ".bashrc"),
        ("", "attachment"),
        (".", "attachment"),
        ("..", "attachment"),
        ("...", "attachment"),
        ("dir/", "attachment"),
        ("a/..", "attachment"),
        ("\x00\x01\x1f", "attachment"),
        ("Re\u0301sume\u0301.docx", "R\u00e9sum\u00e9.docx"),  # NFC: one form per name
    ],
)
def test_file_names_are_reduced_to_a_safe_base_name(given_name, expected):
    assert sanitize_file_name(given_name) == expected


def test_long_names_are_cut_to_255_bytes_keeping_the_extension():
    assert sanitize_file_name("x" * 300 + ".pdf") == "x" * 251 + ".pdf"
    # Multi-byte characters are never cut in half
    cut = sanitize_file_name("é" * 300 + ".txt")
    assert cut == "é" * 125 + ".txt"
    assert len(cut.encode()) == 254
    # An "extension" that is most of the name is no extension: just cut
    assert len(sanitize_file_name("a." + "b" * 300).encode()) == 255


@given(st.text(max_size=400))
def test_any_name_becomes_one_the_database_accepts(name):
    safe = sanitize_file_name(name)
    assert safe not in ("", ".", "..")
    assert not set(safe) & {"/", "\\", "\x00"}
    assert len(safe.encode("utf-8")) <= 255
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in safe)


# ------------------------------------------------------------------ content types
@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b"Hello,\nthe printer is on fire.\n", "text/plain"),
        ("Grüße, ça va? ".encode() * 10 + "é".encode()[:1], "text/plain"),  # cut mid-character
        (b"text with a \x00 NUL", "application/octet-stream"),
        (random.Random(7).randbytes(4096), "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_the_type_comes_from_the_bytes(head, expected):
    assert sniff_content_type(head) == expected


# ------------------------------------------------------------------ storage
def test_the_same_content_is_stored_once_under_its_digest(media):
    first = store(io.BytesIO(b"same bytes"))
    second = store(io.BytesIO(b"same bytes"))
    assert first == second
    assert first.path == media / "attachments" / first.sha256[:2] / first.sha256[2:4] / first.sha256
    assert first.path.read_bytes() == b"same bytes"
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o640
    assert files_on_disk(media) == [first.path]  # and no temporary file left behind


def test_path_for_refuses_anything_but_a_digest():
    with pytest.raises(ValueError, match="sha256"):
        attachments.path_for("../../etc/passwd")


def test_a_stream_over_the_limit_is_abandoned_at_the_first_chunk_too_many(settings, media):
    # Given a limit of 1 MiB and a client that would send 100 MiB
    settings.MAX_ATTACHMENT_BYTES = 1024 * 1024

    class Endless(io.RawIOBase):
        delivered = 0

        def read(self, size: int = -1) -> bytes:
            Endless.delivered += size
            return b"\xff" * size

    # When it is stored
    with pytest.raises(ValidationFailed) as error:
        store(Endless())
    # Then reading stopped right after the limit, with a field error, and nothing stays on disk
    assert error.value.errors == {"file": ["The file is larger than 1 MB."]}
    assert Endless.delivered <= settings.MAX_ATTACHMENT_BYTES + CHUNK_BYTES
    assert files_on_disk(media) == []


# ------------------------------------------------------------------ attachment_add
def test_an_agent_attaches_a_file_with_a_safe_name_and_a_sniffed_type(tenant_a, media, published):
    # Given a ticket, when an agent uploads PNG bytes named like a text file
    ticket = make_ticket(tenant_a)
    added = attach(tenant_a, ticket, PNG, name="../../screenshot.txt")
    # Then the row has the base name, the real type, size and digest
    with tenant(tenant_a.org):
        row = TicketAttachment.objects.get(pk=added.pk)
    assert (row.file_name, row.content_type, row.size) == ("screenshot.txt", "image/png", len(PNG))
    assert attachments.path_for(row.sha256).read_bytes() == PNG
    assert row.uploaded_by_id == tenant_a.agent.id
    assert row.created_at is not None
    # And the event announced it
    assert [(e.name, e.instance.pk, e.actor_id) for e in published] == [
        ("attachment.added", added.pk, tenant_a.agent.id)
    ]


def test_two_uploads_of_the_same_content_make_two_rows_and_one_file(tenant_a, media):
    ticket = make_ticket(tenant_a)
    first = attach(tenant_a, ticket, b"log line\n", name="a.log")
    second = attach(tenant_a, ticket, b"log line\n", name="b.log", actor=tenant_a.customer)
    assert first.pk != second.pk
    assert first.sha256 == second.sha256
    assert attachment_count(tenant_a) == 2
    assert files_on_disk(media) == [attachments.path_for(first.sha256)]


def test_an_empty_upload_is_a_field_error_and_writes_nothing(tenant_a, media):
    ticket = make_ticket(tenant_a)
    with pytest.raises(ValidationFailed) as error:
        attach(tenant_a, ticket, b"")
    assert error.value.errors == {"file": ["The file is empty."]}
    assert attachment_count(tenant_a) == 0
    assert files_on_disk(media) == []


def test_an_oversized_upload_is_a_field_error_and_writes_nothing(tenant_a, media, settings):
    # Given a limit of 1 KiB
    settings.MAX_ATTACHMENT_BYTES = 1024
    ticket = make_ticket(tenant_a)
    # Then exactly the limit is fine, one byte more is not
    attach(tenant_a, ticket, b"x" * 1024)
    with pytest.raises(ValidationFailed) as error:
        attach(tenant_a, ticket, b"y" * 1025)
    assert error.value.errors == {"file": ["The file is larger than 1 KB."]}
    assert attachment_count(tenant_a) == 1
    assert len(files_on_disk(media)) == 1


def test_the_database_refuses_an_empty_attachment(tenant_a):
    # Given a raw SQL insert of size 0, bypassing the service
    ticket = make_ticket(tenant_a)
    assert_sql_refused(
        IntegrityError,
        "tickets_ticketattachment_size_positive",
        "INSERT INTO tickets_ticketattachment (organization_id, ticket_id, file_name,"
        " content_type, size, sha256, download_count) VALUES (%s, %s, 'a.txt',"
        " 'text/plain', 0, %s, 0)",
        [tenant_a.org.id, ticket.id, "0" * 64],
    )


def test_a_customer_attaches_only_to_their_own_ticket(tenant_a, media):
    # Given a ticket of another customer of the same organization
    theirs = make_ticket(tenant_a, customer=other_customer(tenant_a))
    # When our customer tries to attach to it, then it does not exist for them
    with pytest.raises(NotFound):
        attach(tenant_a, theirs, b"hello", actor=tenant_a.customer)
    assert attachment_count(tenant_a) == 0
    assert files_on_disk(media) == []
    # But to their own ticket they may
    mine = make_ticket(tenant_a)
    assert attach(tenant_a, mine, b"hello", actor=tenant_a.customer).size == 5


def test_the_comment_must_belong_to_the_ticket(tenant_a):
    ticket, other = make_ticket(tenant_a), make_ticket(tenant_a)
    with tenant(tenant_a.org):
        elsewhere = TicketComment.objects.create(
            organization=tenant_a.org, ticket=other, author=tenant_a.agent, body_text="hi"
        )
        here = TicketComment.objects.create(
            organization=tenant_a.org, ticket=ticket, author=tenant_a.agent, body_text="hi"
        )
    with pytest.raises(ValidationFailed) as error:
        attach(tenant_a, ticket, b"x", comment=elsewhere)
    assert error.value.field == "comment"
    # A customer may not hang files on the agent's reply either
    with pytest.raises(ValidationFailed):
        attach(tenant_a, ticket, b"x", comment=here, actor=tenant_a.customer)
    assert attach(tenant_a, ticket, b"x", comment=here).comment_id == here.id


def test_no_attachments_on_a_closed_ticket(tenant_a):
    ticket = make_ticket(tenant_a)
    with tenant(tenant_a.org):
        Ticket.objects.filter(pk=ticket.pk).update(status="closed")
    with pytest.raises(Conflict):
        attach(tenant_a, ticket, b"late")


# ------------------------------------------------------------------ attachment_open
def test_opening_returns_the_content_and_counts_each_download(tenant_a):
    ticket = make_ticket(tenant_a)
    added = attach(tenant_a, ticket, b"report body", name="report.txt")
    for expected_count in (1, 2):
        row, handle = attachment_open(
            organization=tenant_a.org, actor=tenant_a.customer, attachment_id=added.pk
        )
        with handle:
            assert handle.read() == b"report body"
        assert row.download_count == expected_count
    with tenant(tenant_a.org):
        assert TicketAttachment.objects.get(pk=added.pk).download_count == 2


def test_a_customer_cannot_download_from_another_customers_ticket(tenant_a):
    theirs = make_ticket(tenant_a, customer=other_customer(tenant_a))
    added = attach(tenant_a, theirs, b"private")
    with pytest.raises(NotFound):
        attachment_open(organization=tenant_a.org, actor=tenant_a.customer, attachment_id=added.pk)
    with tenant(tenant_a.org):
        assert TicketAttachment.objects.get(pk=added.pk).download_count == 0


def test_a_customer_cannot_download_what_hangs_on_an_internal_note(tenant_a):
    # Given a file on an internal note of the customer's own ticket
    ticket = make_ticket(tenant_a)
    with tenant(tenant_a.org):
        note = TicketComment.objects.create(
            organization=tenant_a.org, ticket=ticket, author=tenant_a.agent,
            kind=CommentKind.INTERNAL, body_text="customer is difficult",
        )  # fmt: skip
    added = attach(tenant_a, ticket, b"internal analysis", comment=note)
    # Then the customer gets NotFound, while staff can open it
    with pytest.raises(NotFound):
        attachment_open(organization=tenant_a.org, actor=tenant_a.customer, attachment_id=added.pk)
    _, handle = attachment_open(
        organization=tenant_a.org, actor=tenant_a.manager, attachment_id=added.pk
    )
    handle.close()


def test_an_unknown_id_is_not_found(tenant_a):
    with pytest.raises(NotFound):
        attachment_open(organization=tenant_a.org, actor=tenant_a.agent, attachment_id=10**12)


def test_under_row_level_security_another_tenant_cannot_open_it(tenant_a, tenant_b, app_role):
    # Given an attachment of tenant A, written as the application role
    ticket = make_ticket(tenant_a)
    added = attach(tenant_a, ticket, b"acme secrets", name="plan.txt")
    # When tenant B's admin asks for it by id, then PostgreSQL shows B no such row
    with pytest.raises(NotFound):
        attachment_open(organization=tenant_b.org, actor=tenant_b.admin, attachment_id=added.pk)
    with tenant(tenant_b.org):
        assert not TicketAttachment.objects.filter(pk=added.pk).exists()
    # And A's staff still can
    row, handle = attachment_open(
        organization=tenant_a.org, actor=tenant_a.agent, attachment_id=added.pk
    )
    with handle:
        assert handle.read() == b"acme secrets"
    assert row.download_count == 1


def test_an_actor_of_another_tenant_is_refused_even_without_rls(tenant_a, tenant_b):
    # The owner role sees every row: the service's own tenant checks must hold alone
    ticket = make_ticket(tenant_a)
    added = attach(tenant_a, ticket, b"acme secrets")
    with pytest.raises(NotFound):
        attachment_open(organization=tenant_a.org, actor=tenant_b.admin, attachment_id=added.pk)
    with pytest.raises(NotFound):
        attach(tenant_a, ticket, b"x", actor=tenant_b.agent)
