"""/api/v1/mailboxes: admins manage them, managers read them; secrets never come back."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from deskbase.mail import crypto
from deskbase.mail.models import Mailbox
from tests.api.helpers import ApiClient
from tests.mail.admin_factories import mailbox
from tests.mail.admin_servers import IMAP_REFUSAL, refusing_imap

pytestmark = pytest.mark.django_db
SECRET = "Very-Secret-imap-9"
SMTP_SECRET = "Very-Secret-smtp-9"
MISSING = 987_654

IMAP = {
    "name": "Support", "address": "support@acme.test", "inbound": "imap",
    "imap_host": "imap.acme.test", "imap_port": 993, "imap_username": "support",
    "imap_password": SECRET, "smtp_host": "smtp.acme.test", "smtp_port": 587,
    "smtp_username": "support", "smtp_password": SMTP_SECRET,
}  # fmt: skip


def column_text(mailbox_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT mail_mailbox::text FROM mail_mailbox WHERE id = %s", [mailbox_id])
        return cursor.fetchone()[0]


def test_an_admin_creates_a_mailbox_and_no_answer_or_log_holds_its_passwords(tenant_a, caplog):
    caplog.set_level(logging.DEBUG)
    admin = ApiClient(tenant_a.admin)
    # When an admin creates an IMAP mailbox with both passwords
    created = admin.post("/mailboxes", IMAP)
    # Then it exists, says that passwords are stored, and shows neither
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["has_imap_password"] is True
    assert body["has_smtp_password"] is True
    assert body["has_dkim_key"] is False
    assert "imap_password" not in body
    listed = admin.get("/mailboxes")
    one = admin.get(f"/mailboxes/{body['id']}")
    for response in (created, listed, one):
        assert SECRET.encode() not in response.content
        assert SMTP_SECRET.encode() not in response.content
    # Nor does the database row (encrypted), nor any log record
    row = column_text(body["id"])
    assert SECRET not in row
    assert SMTP_SECRET not in row
    assert crypto.decrypt(Mailbox.objects.get(pk=body["id"]).imap_password) == SECRET
    assert SECRET not in caplog.text
    assert SMTP_SECRET not in caplog.text


def test_a_patch_without_a_password_keeps_it_and_one_with_a_password_replaces_it(tenant_a):
    box = mailbox(tenant_a, **{k: v for k, v in IMAP.items() if k not in ("name", "address")})
    stored = Mailbox.objects.get(pk=box.pk).imap_password
    admin = ApiClient(tenant_a.admin)
    # When the admin renames it, sending an empty password field as the form does
    renamed = admin.patch(f"/mailboxes/{box.pk}", {"name": "Help desk", "imap_password": ""})
    # Then the stored password is the same
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "Help desk"
    assert Mailbox.objects.get(pk=box.pk).imap_password == stored
    # When a new one is sent, it replaces it
    changed = admin.patch(f"/mailboxes/{box.pk}", {"imap_password": "fresh-pw"})
    assert changed.status_code == 200
    assert b"fresh-pw" not in changed.content
    assert crypto.decrypt(Mailbox.objects.get(pk=box.pk).imap_password) == "fresh-pw"


@pytest.mark.parametrize(
    ("method", "path", "roles"),
    [
        ("get", "/mailboxes", ("agent", "customer")),
        ("post", "/mailboxes", ("manager", "agent", "customer")),
        ("get", "/mailboxes/{id}", ("agent", "customer")),
        ("patch", "/mailboxes/{id}", ("manager", "agent", "customer")),
        ("delete", "/mailboxes/{id}", ("manager", "agent", "customer")),
        ("post", "/mailboxes/{id}/test", ("manager", "agent", "customer")),
    ],
)
def test_who_may_not_manage_mailboxes_gets_a_403_and_changes_nothing(tenant_a, method, path, roles):
    box = mailbox(tenant_a)
    for role in roles:
        client = ApiClient(getattr(tenant_a, role))
        body = {"name": "x", "address": "x@acme.test"} if path == "/mailboxes" else {"name": "x"}
        args = (path.format(id=box.pk),) + ((body,) if method in ("post", "patch") else ())
        response = getattr(client, method)(*args)
        assert response.status_code == 403, (role, response.content)
        assert response["Content-Type"] == "application/problem+json"
    row = Mailbox.objects.get(pk=box.pk)
    assert (row.name, row.deleted_at, row.last_checked_at) == ("Support", None, None)


def test_a_manager_reads_the_mailboxes_with_their_status(tenant_a, tenant_b):
    mine = mailbox(tenant_a)
    Mailbox.objects.filter(pk=mine.pk).update(last_error="IMAP: [AUTHENTICATIONFAILED] no")
    mailbox(tenant_b, name="Globex support")
    listed = ApiClient(tenant_a.manager).get("/mailboxes")
    assert listed.status_code == 200
    assert [(m["id"], m["last_error"]) for m in listed.json()] == [
        (mine.pk, "IMAP: [AUTHENTICATIONFAILED] no")
    ]
    assert b"globex" not in listed.content.lower()


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("get", "", None), ("patch", "", {"name": "Mine"}), ("delete", "", None),
     ("post", "/test", None)],
)  # fmt: skip
def test_another_tenants_mailbox_answers_like_a_missing_one(
    tenant_a, tenant_b, method, suffix, body
):
    theirs = mailbox(tenant_b)
    admin = ApiClient(tenant_a.admin)
    extra = (body,) if body is not None else ()
    if method == "post":
        extra = ({},)
    answer = getattr(admin, method)(f"/mailboxes/{theirs.pk}{suffix}", *extra)
    missing = getattr(admin, method)(f"/mailboxes/{MISSING}{suffix}", *extra)
    assert answer.status_code == missing.status_code == 404
    assert answer.json() == missing.json()
    row = Mailbox.objects.get(pk=theirs.pk)
    assert (row.name, row.deleted_at) == ("Support", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"address": "nope"}, "address"),
        ({"inbound": "imap"}, "imap_host"),
        (
            {"inbound": "imap", "imap_host": "h", "imap_port": 993, "imap_username": "u"},
            "imap_password",
        ),
        ({"imap_port": 0}, "imap_port"),
        ({"smtp_security": "maybe"}, "smtp_security"),
        ({"imap_uidvalidity": 5}, "imap_uidvalidity"),
        ({"last_error": ""}, "last_error"),
        ({"name": None}, "name"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(tenant_a, body, field):
    response = ApiClient(tenant_a.admin).post(
        "/mailboxes", {"name": "Support", "address": "support@acme.test", **body}
    )
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Mailbox.objects.exists()


def test_an_address_taken_in_another_tenant_is_a_422_not_a_500(tenant_a, tenant_b):
    mailbox(tenant_b, address="help@shared.test")
    response = ApiClient(tenant_a.admin).post(
        "/mailboxes", {"name": "Help", "address": "Help@Shared.test"}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["address"]


def test_deleting_a_mailbox_hides_it(tenant_a):
    box = mailbox(tenant_a)
    admin = ApiClient(tenant_a.admin)
    assert admin.delete(f"/mailboxes/{box.pk}").status_code == 204
    assert admin.get(f"/mailboxes/{box.pk}").status_code == 404
    assert admin.get("/mailboxes").json() == []


def test_a_connection_test_answers_with_the_servers_refusal(tenant_a, settings):
    settings.MAIL_ALLOW_PRIVATE_HOSTS = True  # the test server is on 127.0.0.1
    admin = ApiClient(tenant_a.admin)
    with refusing_imap() as port:
        box = mailbox(tenant_a, inbound="imap", imap_host="127.0.0.1", imap_port=port,
                      imap_security="none", imap_username="support",
                      imap_password=SECRET)  # fmt: skip
        response = admin.post(f"/mailboxes/{box.pk}/test")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is False
    assert IMAP_REFUSAL in body["answers"][0]["text"]
    assert body["last_error"].startswith("IMAP: ")
    assert body["last_checked_at"] is not None
    assert SECRET.encode() not in response.content
    assert IMAP_REFUSAL in admin.get(f"/mailboxes/{box.pk}").json()["last_error"]


def test_a_patch_clears_the_relay_with_a_null_port(tenant_a):
    box = mailbox(tenant_a, smtp_host="smtp.acme.test", smtp_port=587)
    response = ApiClient(tenant_a.admin).patch(
        f"/mailboxes/{box.pk}", {"smtp_host": "", "smtp_port": None}
    )
    assert response.status_code == 200, response.content
    row = Mailbox.objects.get(pk=box.pk)
    assert (row.smtp_host, row.smtp_port) == ("", None)
