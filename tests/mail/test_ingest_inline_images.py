"""Inline (cid:) images of an HTML mail show in the ticket, from the stored attachment;
images from anywhere else stay blocked."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from deskbase.core.sanitize import clean_html
from deskbase.mail import ingest
from deskbase.mail.models import InboundState, Source
from deskbase.tickets.models import Ticket, TicketAttachment, TicketComment
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))  # fmt: skip


HTML = (
    '<p>The error screen:</p><p><img src="cid:screen@client.example" alt="screen"></p>'
    '<p>Tracked: <img src="https://tracker.example/pixel.gif" alt="pixel"></p>'
)
IMG_SRC = re.compile(r'<img[^>]*src="([^"]*)"')


def received(world, raw: bytes):
    return ingest.receive(mailbox=world.mailbox, raw=raw, source=Source.PUSH)


def test_an_inline_image_shows_in_the_new_ticket_and_an_external_one_does_not(mail_a, raw_message):
    # Given an HTML mail (multipart/related) showing an inline image and an external one
    raw = raw_message(html=HTML, inline=[("screen@client.example", "image/png", png())])
    # When it is received
    inbound = received(mail_a, raw)
    # Then the ticket's body shows the image from its stored attachment, the external not
    assert inbound.state == InboundState.TICKET
    ticket = Ticket.objects.get(pk=inbound.ticket_id)
    image = TicketAttachment.objects.get(ticket=ticket)
    assert image.content_type == "image/png"
    assert IMG_SRC.findall(ticket.description_html) == [f"/files/{image.id}/"]
    assert "tracker.example" not in ticket.description_html
    # And the agent's page renders it, and the URL answers the image to the agent
    agent = signed_in(mail_a.agent)
    page = agent.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert f'<img src="/files/{image.id}/" alt="screen">' in page
    assert "tracker.example" not in page
    response = agent.get(f"/files/{image.id}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png()


def test_an_inline_image_of_a_reply_shows_in_its_comment(mail_a, mail_b, raw_message):
    # Given a ticket opened by mail
    first = received(mail_a, raw_message(subject="Printer"))
    # When the customer answers with an HTML reply showing an inline image
    raw = raw_message(subject="Re: Printer", in_reply_to=f"<{first.message_id}>", html=HTML,
                      inline=[("screen@client.example", "image/png", png())])  # fmt: skip
    reply = received(mail_a, raw)
    # Then the comment shows its own stored image
    assert reply.state == InboundState.REPLY
    comment = TicketComment.objects.get(pk=reply.comment_id)
    image = TicketAttachment.objects.get(comment=comment)
    assert IMG_SRC.findall(comment.body_html) == [f"/files/{image.id}/"]
    # And another organization's agent gets a 404 for it, like a missing file
    assert signed_in(mail_b.agent).get(f"/files/{image.id}/").status_code == 404


@pytest.mark.parametrize(
    ("html", "kept"),
    [
        ('<img src="/files/12/" alt="a">', '<img src="/files/12/" alt="a">'),
        ('<img src="https://tracker.example/p.gif">', ""),
        ('<img src="//tracker.example/files/12/">', ""),
        ('<img src="/files/12/../../admin/">', ""),
        ('<img src="/files/12/?x=1">', ""),
        ('<img src="cid:logo@x">', ""),
        ('<img src="javascript:alert(1)">', ""),
        ('<img src="data:image/png;base64,AAAA">', ""),
        ('<img alt="no source">', ""),
        ('<img src="/files/12/" onerror="alert(1)">', '<img src="/files/12/">'),
    ],
)
def test_the_sanitizer_keeps_only_images_of_our_own_attachments(html, kept):
    assert clean_html(f"<p>{html}</p>") == f"<p>{kept}</p>"
