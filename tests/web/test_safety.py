"""Bodies are sanitized on the page, pages carry a CSP with a nonce, files download."""

from __future__ import annotations

import io
import re

from deskbase.tickets import services
from deskbase.tickets.attachments import attachment_add
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

EVIL = ('<p>hi</p><script>window.__xss=1</script><img src="x" onerror="window.__xss=1">'
        '<a href="javascript:window.__xss=1">click</a>')  # fmt: skip


def test_pages_send_a_csp_with_a_nonce_and_no_inline_handlers(tenant_a):
    ticket = open_ticket(tenant_a)
    response = signed_in(tenant_a.agent).get(f"/desk/tickets/{ticket.number}/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    html = response.content.decode()
    assert not re.search(r"<[^>]*\son(click|submit|change|load|error)=", html)
    assert "<script>" not in html  # every script has a src
    scripts = re.findall(r"<script [^>]*>", html)
    assert scripts
    assert all(f'nonce="{nonce}"' in tag and "src=" in tag for tag in scripts)


def test_html_bodies_are_shown_sanitized(tenant_a):
    ticket = open_ticket(tenant_a, subject="<script>window.__xss=1</script>",
                         description=EVIL, description_is_html=True)  # fmt: skip
    services.comment_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=ticket,
                         body=EVIL, body_is_html=True)  # fmt: skip
    attachment_add(
        organization=tenant_a.org,
        actor=tenant_a.customer,
        ticket=ticket,
        stream=io.BytesIO(b"x"),
        file_name='<img src=x onerror="alert(1)">.txt',
    )
    for client, url in (
        (signed_in(tenant_a.agent), f"/desk/tickets/{ticket.number}/"),
        (signed_in(tenant_a.customer), f"/portal/tickets/{ticket.number}/"),
    ):
        html = client.get(url).content.decode()
        tags = re.findall(r"<[a-zA-Z][^>]*>", html)
        assert not [t for t in tags if t.startswith("<script") and "src=" not in t]
        assert not [t for t in tags if re.search(r"\son[a-z]+=", t)]
        assert not [t for t in tags if "javascript:" in t]
        assert not [t for t in tags if t.startswith("<img")]
        assert "&lt;script&gt;" in html  # the subject, escaped


def test_downloads_are_attachments_with_a_sandbox(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    attachment = attachment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                                stream=io.BytesIO(b"<html><script>alert(1)</script>"),
                                file_name="page.html")  # fmt: skip
    response = signed_in(tenant_a.agent).get(f"/files/{attachment.id}/")
    assert response["Content-Disposition"].startswith('attachment; filename="page.html"')
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert signed_in(tenant_b.agent).get(f"/files/{attachment.id}/").status_code == 404
