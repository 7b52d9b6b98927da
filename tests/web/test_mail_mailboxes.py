"""/manage/mailboxes: admins manage mailboxes, managers see their status, agents nothing."""

from __future__ import annotations

import logging

import pytest

from deskbase.mail import crypto
from deskbase.mail.models import Mailbox
from tests.mail.admin_factories import mailbox
from tests.mail.admin_servers import IMAP_REFUSAL, refusing_imap
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db
SECRET = "Page-Secret-pw-42"
FORM = {
    "name": "Support", "address": "support@acme.test", "from_name": "Acme support",
    "inbound": "imap", "imap_host": "imap.acme.test", "imap_port": "993",
    "imap_security": "tls", "imap_username": "support", "imap_password": SECRET,
    "imap_folder": "INBOX", "imap_archive_folder": "", "authserv_id": "",
    "smtp_host": "", "smtp_port": "", "smtp_security": "starttls", "smtp_username": "",
    "smtp_password": "", "dkim_domain": "", "dkim_selector": "", "dkim_private_key": "",
    "is_active": "on",
}  # fmt: skip


def test_an_admin_adds_a_mailbox_and_no_page_shows_its_password(tenant_a, caplog):
    caplog.set_level(logging.DEBUG)
    client = signed_in(tenant_a.admin)
    # When an admin sends the new-mailbox form
    response = client.post("/manage/mailboxes/new", FORM)
    # Then the mailbox exists with its password encrypted
    assert response.status_code == 302
    box = Mailbox.objects.get(address="support@acme.test")
    assert crypto.decrypt(box.imap_password) == SECRET
    # And neither the list nor the edit page holds the password; the edit page says one is stored
    listed = client.get("/manage/mailboxes/").content.decode()
    edit = client.get(f"/manage/mailboxes/{box.pk}/").content.decode()
    assert "support@acme.test" in listed
    assert SECRET not in listed
    assert SECRET not in edit
    assert "Stored — leave blank to keep" in edit
    assert SECRET not in caplog.text


def test_saving_the_form_with_a_blank_password_keeps_it(tenant_a):
    box = mailbox(tenant_a, inbound="imap", imap_host="imap.acme.test", imap_port=993,
                  imap_username="support", imap_password=SECRET)  # fmt: skip
    stored = Mailbox.objects.get(pk=box.pk).imap_password
    client = signed_in(tenant_a.admin)
    response = client.post(f"/manage/mailboxes/{box.pk}/",
                           {**FORM, "name": "Help desk", "imap_password": ""})  # fmt: skip
    assert response.status_code == 302
    row = Mailbox.objects.get(pk=box.pk)
    assert (row.name, row.imap_password) == ("Help desk", stored)


def test_a_refused_form_names_the_field_and_does_not_echo_the_password(tenant_a):
    client = signed_in(tenant_a.admin)
    response = client.post("/manage/mailboxes/new", {**FORM, "imap_port": "70000"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="mb-imap_port-error"' in page
    assert "65535" in page
    assert SECRET not in page
    assert not Mailbox.objects.exists()


def test_agents_get_a_403_and_managers_only_read(tenant_a):
    box = mailbox(tenant_a)
    agent, manager = signed_in(tenant_a.agent), signed_in(tenant_a.manager)
    assert agent.get("/manage/mailboxes/").status_code == 403
    assert signed_in(tenant_a.customer).get("/manage/mailboxes/").status_code == 403
    page = manager.get("/manage/mailboxes/")
    assert page.status_code == 200
    assert "support@acme.test" in page.content.decode()
    assert "Add a mailbox" not in page.content.decode()
    for url in ("/manage/mailboxes/new", f"/manage/mailboxes/{box.pk}/"):
        assert manager.get(url).status_code == 403
    assert manager.post(f"/manage/mailboxes/{box.pk}/remove").status_code == 403
    assert manager.post("/manage/mailboxes/new", FORM).status_code == 403
    assert Mailbox.objects.count() == 1


def test_another_tenants_mailbox_is_a_404(tenant_a, tenant_b):
    theirs = mailbox(tenant_b)
    client = signed_in(tenant_a.admin)
    assert client.get(f"/manage/mailboxes/{theirs.pk}/").status_code == 404
    assert client.post(f"/manage/mailboxes/{theirs.pk}/remove").status_code == 404
    assert client.post(f"/manage/mailboxes/{theirs.pk}/test").status_code == 404
    assert "globex" not in client.get("/manage/mailboxes/").content.decode()
    assert Mailbox.objects.get(pk=theirs.pk).deleted_at is None


def test_the_test_button_shows_the_servers_refusal_on_the_list(tenant_a, settings):
    settings.MAIL_ALLOW_PRIVATE_HOSTS = True  # the test server is on 127.0.0.1
    client = signed_in(tenant_a.admin)
    with refusing_imap() as port:
        box = mailbox(tenant_a, inbound="imap", imap_host="127.0.0.1", imap_port=port,
                      imap_security="none", imap_username="support",
                      imap_password=SECRET)  # fmt: skip
        response = client.post(f"/manage/mailboxes/{box.pk}/test", follow=True)
    page = response.content.decode()
    assert IMAP_REFUSAL in page
    assert 'class="msg error mail-error"' in page  # kept as the mailbox's status too
    assert SECRET not in page


def test_removing_a_mailbox_hides_it(tenant_a):
    box = mailbox(tenant_a)
    client = signed_in(tenant_a.admin)
    response = client.post(f"/manage/mailboxes/{box.pk}/remove", follow=True)
    assert "Mailbox support@acme.test removed." in response.content.decode()
    assert not Mailbox.objects.filter(pk=box.pk).exists()
