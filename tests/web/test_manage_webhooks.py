"""/manage/webhooks: admins and managers add endpoints (the secret shown once), see the
statistics and deliveries, test, rotate, replay; agents get nothing; another tenant's
endpoint is a 404."""

from __future__ import annotations

import pytest

from deskbase.core.tenancy import tenant
from deskbase.outbox import delivery
from deskbase.webhooks.models import Endpoint
from tests.web.helpers import signed_in
from tests.webhooks.conftest import make_endpoint, private_hosts, receiver  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_manager_adds_an_endpoint_and_sees_its_secret_once(tenant_a, receiver):  # noqa: F811
    client = signed_in(tenant_a.manager)
    made = client.post(
        "/manage/webhooks/",
        {
            "url": receiver.url(),
            "description": "CRM",
            "event_types": ["ticket.created", "comment.added"],
        },
    )
    assert made.status_code == 200
    page = made.content.decode()
    assert "whsec_" in page
    assert "never shown again" in page
    with tenant(tenant_a.org):
        endpoint = Endpoint.objects.get()
    assert endpoint.event_types == ["ticket.created", "comment.added"]
    # Then neither the list nor the endpoint page shows a secret again
    assert "whsec_" not in client.get("/manage/webhooks/").content.decode()
    detail = client.get(f"/manage/webhooks/{endpoint.id}/")
    assert detail.status_code == 200
    assert "whsec_" not in detail.content.decode()


def test_a_refused_url_is_named_on_the_form(tenant_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False
    client = signed_in(tenant_a.admin)
    answer = client.post("/manage/webhooks/", {"url": "https://127.0.0.1/x", "event_types": ["*"]})
    assert answer.status_code == 422
    assert "loopback address" in answer.content.decode()
    assert 'id="wh-url-error"' in answer.content.decode()
    with tenant(tenant_a.org):
        assert not Endpoint.objects.exists()


def test_test_message_rotation_and_replay_from_the_endpoint_page(tenant_a, receiver):  # noqa: F811
    endpoint, _ = make_endpoint(tenant_a, receiver.url())
    client = signed_in(tenant_a.admin)
    tested = client.post(f"/manage/webhooks/{endpoint.id}/test")
    assert tested.status_code == 200
    assert "webhook.test" in tested.content.decode()
    assert len(receiver.requests) == 1
    rotated = client.post(f"/manage/webhooks/{endpoint.id}/rotate")
    assert "whsec_" in rotated.content.decode()
    assert "stays valid until" in rotated.content.decode()
    from deskbase.webhooks.models import Delivery

    with tenant(tenant_a.org):
        first = Delivery.objects.get()
    assert client.post(f"/manage/webhooks/deliveries/{first.id}/replay").status_code == 200
    delivery.drain()
    assert len(receiver.requests) == 2
    page = client.get(f"/manage/webhooks/{endpoint.id}/").content.decode()
    assert f"replay of #{first.id}" in page


def test_agents_are_refused_and_another_tenants_endpoint_is_missing(
    tenant_a,
    tenant_b,
    receiver,  # noqa: F811
):
    theirs, _ = make_endpoint(tenant_b, receiver.url())
    assert signed_in(tenant_a.agent).get("/manage/webhooks/").status_code == 403
    admin = signed_in(tenant_a.admin)
    assert admin.get(f"/manage/webhooks/{theirs.id}/").status_code == 404
    assert admin.post(f"/manage/webhooks/{theirs.id}/test").status_code == 404
    assert admin.post(f"/manage/webhooks/{theirs.id}/remove").status_code == 404
    assert receiver.requests == []
