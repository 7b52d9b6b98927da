"""/api/v1/tickets/{number}/attachments and /api/v1/attachments/{id}/download."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deskbase.api.attachments import MULTIPART_OVERHEAD
from deskbase.core.tenancy import tenant
from deskbase.tickets import services
from deskbase.tickets.attachments import attachment_add
from deskbase.tickets.models import TicketAttachment
from tests.api.helpers import ApiClient, list_size_and_queries
from tests.helpers import PNG
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(api: ApiClient, number: int, name: str, data: bytes, **form):
    file = SimpleUploadedFile(name, data, content_type=form.pop("content_type", "text/html"))
    return api.client.post(f"/api/v1/tickets/{number}/attachments", {"file": file, **form},
                           headers=api._headers(None))  # fmt: skip


def stored_files(media: Path) -> list[Path]:
    root = media / "attachments"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_customer_uploads_lists_and_downloads_a_file(tenant_a, app_role):
    # Given a customer's ticket
    ticket = open_ticket(tenant_a)
    customer = ApiClient(tenant_a.customer)
    # When they upload a PNG under a misleading name and declared type
    created = upload(customer, ticket.number, "../../etc/pic.html", PNG, content_type="text/html")
    # Then it is stored with a safe name and the type its bytes show
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["file_name"], body["content_type"], body["size"]) == ("pic.html", "image/png",
                                                                        len(PNG))  # fmt: skip
    assert body["uploaded_by_id"] == tenant_a.customer.id
    # And it is listed on the ticket, for them and for the agent
    for who in (customer, ApiClient(tenant_a.agent)):
        listed = who.get(f"/tickets/{ticket.number}/attachments")
        assert listed.status_code == 200
        assert [a["id"] for a in listed.json()] == [body["id"]]
    # And downloading it streams the bytes as an attachment, never inline, never sniffed
    response = customer.get(f"/attachments/{body['id']}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''pic.html" in response["Content-Disposition"]
    with tenant(tenant_a.org):
        assert TicketAttachment.objects.get(pk=body["id"]).download_count == 1


def test_html_is_served_as_plain_text_with_an_encoded_name(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    agent = ApiClient(tenant_a.agent)
    created = upload(agent, ticket.number, "résumé 2025.html", b"<script>alert(1)</script>")
    assert created.status_code == 201, created.content
    response = agent.get(f"/attachments/{created.json()['id']}/download")
    # (reading the stream to its end closes the response, as a server would)
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert response["Content-Type"] == "text/plain"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%202025.html" in disposition
    assert 'filename="resume 2025.html"' in disposition


def test_another_tenant_sees_none_of_it(tenant_a, tenant_b, app_role):
    # Given an attachment on tenant A's ticket #1, and tenant B's own ticket #1
    a_ticket = open_ticket(tenant_a)
    a_file = upload(ApiClient(tenant_a.agent), a_ticket.number, "a.txt", b"secret of A").json()
    b_ticket = open_ticket(tenant_b)
    assert b_ticket.number == a_ticket.number
    b_agent = ApiClient(tenant_b.agent)
    # When tenant B lists its ticket #1 and asks for A's attachment by id
    listed = b_agent.get(f"/tickets/{b_ticket.number}/attachments")
    download = b_agent.get(f"/attachments/{a_file['id']}/download")
    # Then A's file is absent and its id is a 404 problem
    assert listed.status_code == 200
    assert listed.json() == []
    assert download.status_code == 404
    assert download["Content-Type"] == "application/problem+json"
    # And B's customer cannot reach A's ticket number 2 (which B does not have)
    open_ticket(tenant_a)
    assert ApiClient(tenant_b.customer).get("/tickets/2/attachments").status_code == 404


def test_customers_see_neither_other_tickets_nor_internal_notes_files(tenant_a, app_role):
    # Given the customer's ticket with a file on a public reply and one on an internal note
    ticket = open_ticket(tenant_a)
    agent_api = ApiClient(tenant_a.agent)
    public = services.comment_add(organization=tenant_a.org, actor=tenant_a.agent,
                                  ticket=ticket, body="Here", kind="public")  # fmt: skip
    note = services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                                body="Customer seems angry", kind="internal")  # fmt: skip
    shown = upload(agent_api, ticket.number, "shown.txt", b"ok", comment_id=public.id).json()
    hidden = upload(agent_api, ticket.number, "hidden.txt", b"internal", comment_id=note.id).json()
    customer = ApiClient(tenant_a.customer)
    # Then the customer lists only the public one and cannot download the note's
    listed = customer.get(f"/tickets/{ticket.number}/attachments").json()
    assert [a["id"] for a in listed] == [shown["id"]]
    assert customer.get(f"/attachments/{hidden['id']}/download").status_code == 404
    # While the agent sees both
    assert len(agent_api.get(f"/tickets/{ticket.number}/attachments").json()) == 2
    # And a customer cannot attach to the internal note (named as the API names it)
    refused = upload(customer, ticket.number, "x.txt", b"x", comment_id=note.id)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "comment_id"
    # And another customer's ticket is a 404, for listing and for uploading
    with tenant(tenant_a.org):
        from deskbase.accounts.models import User

        other = User.objects.create_user("other@acme.test", "pw-for-tests-1",
                                         organization=tenant_a.org, role="customer")  # fmt: skip
    other_api = ApiClient(other)
    assert other_api.get(f"/tickets/{ticket.number}/attachments").status_code == 404
    assert upload(other_api, ticket.number, "x.txt", b"x").status_code == 404
    assert other_api.get(f"/attachments/{shown['id']}/download").status_code == 404


def test_empty_and_too_large_files_are_refused_naming_file(tenant_a, app_role, settings, media):
    settings.MAX_ATTACHMENT_BYTES = 1000
    ticket = open_ticket(tenant_a)
    agent = ApiClient(tenant_a.agent)
    for data, message in ((b"", "empty"), (b"x" * 1001, "larger than 1000 bytes")):
        response = upload(agent, ticket.number, "f.bin", data)
        assert response.status_code == 422, response.content
        problem = response.json()
        assert problem["errors"][0]["field"] == "file"
        assert message in problem["errors"][0]["message"]
    assert stored_files(media) == []


def test_a_body_far_over_the_limit_is_a_413_before_it_is_read(tenant_a, app_role, settings, media):
    settings.MAX_ATTACHMENT_BYTES = 1000
    ticket = open_ticket(tenant_a)
    response = upload(ApiClient(tenant_a.agent), ticket.number, "big.bin",
                      b"x" * (1000 + MULTIPART_OVERHEAD + 1))  # fmt: skip
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert stored_files(media) == []


def test_missing_file_closed_ticket_and_no_token(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    agent = ApiClient(tenant_a.agent)
    missing = agent.client.post(f"/api/v1/tickets/{ticket.number}/attachments", {},
                                headers=agent._headers(None))  # fmt: skip
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "file"
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                                  status="closed")  # fmt: skip
    assert upload(agent, ticket.number, "late.txt", b"x").status_code == 409
    anonymous = agent.client.get(f"/api/v1/tickets/{ticket.number}/attachments")
    assert anonymous.status_code == 401


def test_listing_costs_the_same_queries_for_1_and_50_files(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    agent = ApiClient(tenant_a.agent)
    attachment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                   stream=io.BytesIO(b"first"), file_name="first.txt")  # fmt: skip
    path = f"/tickets/{ticket.number}/attachments"
    agent.get(path)  # the token's first use records it: not part of the comparison

    rows_one, queries_one = list_size_and_queries(agent, path)
    with tenant(tenant_a.org):
        TicketAttachment.objects.bulk_create(
            TicketAttachment(organization=tenant_a.org, ticket=ticket, uploaded_by=tenant_a.agent,
                             file_name=f"f{i}.txt", content_type="text/plain", size=1,
                             sha256="0" * 64)
            for i in range(49)
        )  # fmt: skip
    rows_fifty, queries_fifty = list_size_and_queries(agent, path)
    assert (rows_one, rows_fifty) == (1, 50)
    assert queries_one == queries_fifty
