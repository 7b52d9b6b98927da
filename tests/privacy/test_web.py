"""The administration's personal data pages: admins only, the typed confirmation, the
live export list, retention; another tenant's people are missing ones."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import User
from deskbase.privacy import exports
from deskbase.privacy.models import DataExport, RetentionPolicy
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_an_admin_exports_a_customer_and_watches_it_finish(tenant_a):
    open_ticket(tenant_a)
    client = signed_in(tenant_a.admin)
    person = f"/manage/people/{tenant_a.customer.id}/"
    page = client.get(person).content.decode()
    assert "Export everything about" in page
    assert "Erase this customer" in page
    # (once, in the page, and the title is only the title)
    assert page.count("Erase this customer") == 1
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title == f"{tenant_a.customer.email} · deskbase"
    # When the admin asks for an export
    answer = client.post(f"{person[:-1]}/export", follow=True)
    assert "Export queued" in answer.content.decode()
    # Then the fragment polls while it is queued, and stops with a link once built
    fragment = client.get(f"{person[:-1]}/exports").content.decode()
    assert 'hx-trigger="every 2s"' in fragment
    assert "Queued" in fragment
    exports.build_pending()
    fragment = client.get(f"{person[:-1]}/exports").content.decode()
    assert "hx-trigger" not in fragment
    export = DataExport.objects.get()
    assert f"/manage/exports/{export.id}/download" in fragment
    download = client.get(f"/manage/exports/{export.id}/download")
    assert download["Content-Type"] == "application/zip"


def test_erasure_needs_the_typed_address(tenant_a):
    client = signed_in(tenant_a.admin)
    customer = tenant_a.customer
    url = f"/manage/people/{customer.id}/erase"
    wrong = client.post(url, {"confirm": "nope"}, follow=True).content.decode()
    assert "Type the customer" in wrong
    assert User.objects.get(pk=customer.id).email == customer.email
    done = client.post(url, {"confirm": customer.email}, follow=True).content.decode()
    assert "Customer erased" in done
    assert User.all_objects.get(pk=customer.id).email.endswith("@erased.invalid")
    # staff are refused with the reason
    agent = tenant_a.agent
    answer = client.post(f"/manage/people/{agent.id}/erase", {"confirm": agent.email}, follow=True)
    staff = answer.content.decode()
    assert "Only customers are erased" in staff


def test_only_admins_of_the_organization(tenant_a, tenant_b):
    customer = tenant_a.customer.id
    urls = [f"/manage/people/{customer}/exports", "/manage/privacy/"]
    for person in (tenant_a.manager, tenant_a.agent, tenant_a.customer):
        client = signed_in(person)
        for url in urls:
            assert client.get(url).status_code == 403, (person.role, url)
        assert client.post(f"/manage/people/{customer}/erase",
                           {"confirm": tenant_a.customer.email}).status_code == 403  # fmt: skip
    assert User.objects.get(pk=customer).email == tenant_a.customer.email
    # another tenant's admin: a missing person
    other = signed_in(tenant_b.admin)
    assert other.get(f"/manage/people/{customer}/exports").status_code == 404
    assert other.post(f"/manage/people/{customer}/erase",
                      {"confirm": tenant_a.customer.email}).status_code == 404  # fmt: skip
    assert other.post(f"/manage/people/{customer}/export").status_code == 404
    assert not DataExport.objects.exists()


def test_retention_is_set_on_its_page(tenant_a):
    client = signed_in(tenant_a.admin)
    refused = client.post("/manage/privacy/", {"closed_ticket_months": "500"})
    assert refused.status_code == 422
    assert "between 1 and 120" in refused.content.decode()
    client.post("/manage/privacy/", {"closed_ticket_months": "24"})
    assert RetentionPolicy.objects.get().closed_ticket_months == 24
    assert 'value="24"' in client.get("/manage/privacy/").content.decode()
    client.post("/manage/privacy/", {"closed_ticket_months": ""})
    assert RetentionPolicy.objects.get().closed_ticket_months is None
