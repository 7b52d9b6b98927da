"""Webhook URLs on the internal network are refused when saved (a 422 naming `url`) and
again when delivering; the connection goes to the address checked, never to a second
lookup's answer (DNS rebinding); redirects are not followed."""

from __future__ import annotations

import socket

import pytest
import urllib3.util.connection
from django.db import transaction

from deskbase.core import netguard
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.mail import crypto
from deskbase.outbox import delivery
from deskbase.webhooks import services, signing
from deskbase.webhooks.models import Delivery, Endpoint
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"), ("127.1.2.3", "loopback"), ("::1", "loopback"),
        ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("172.31.255.255", "private"),
        ("192.168.1.1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("100.64.0.1", "CGNAT"), ("100.127.255.254", "CGNAT"), ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"), ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("::ffff:8.8.8.8", "IPv4-mapped"), ("64:ff9b::7f00:1", "NAT64"),
        ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"),  # noqa: S104
        ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"), ("8.8.8.8", None), ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)  # fmt: skip
def test_each_internal_range_is_named_and_public_addresses_pass(address, kind):
    assert netguard.refused_because(address) == kind


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://2130706433/hook", "127.0.0.1, a loopback"),  # decimal
        ("https://0177.0.0.1/hook", "127.0.0.1, a loopback"),  # octal
        ("https://0x7f.1/hook", "127.0.0.1, a loopback"),  # hex, short form
        ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
        ("https://[::1]:8443/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.1.2.3/hook", "private"),
        ("https://100.64.1.1/hook", "CGNAT"),
        ("https://[fd00::5]/hook", "unique-local"),
        ("https://[64:ff9b::a00:1]/hook", "NAT64"),
        ("https://0.0.0.0/hook", "unspecified"),
    ],
)
def test_an_internal_url_is_refused_when_saved_naming_url(tenant_a, settings, url, named):
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationFailed) as refused:
        make_endpoint(tenant_a, url)
    assert refused.value.status == 422
    assert refused.value.field == "url"
    assert named in str(refused.value)
    assert "DESKBASE_WEBHOOKS_ALLOW_PRIVATE_HOSTS" in str(refused.value)
    with tenant(tenant_a.org):
        assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://93.184.215.14/hook", "https://"),
        ("ftp://93.184.215.14/hook", "https://"),
        ("https://user:pw@93.184.215.14/hook", "no user name"),
        ("https://93.184.215.14:99999/hook", "port"),
        ("https:///hook", "no host"),
        ("https://93.184.215.14/a b", "no spaces"),
    ],
)
def test_a_malformed_or_plain_http_url_is_refused(tenant_a, settings, url, says):
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationFailed) as refused:
        make_endpoint(tenant_a, url)
    assert refused.value.field == "url"
    assert says in str(refused.value)


def test_delivery_checks_the_address_again(tenant_a, receiver, settings):
    # Given an endpoint saved while loopback was allowed (or a name that moved since)
    make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False
    from tests.webhooks.test_delivery import open_ticket

    open_ticket(tenant_a)
    # When the worker delivers: refused before connecting, logged, retried later
    assert delivery.drain().retried == 1
    assert receiver.requests == []
    with tenant(tenant_a.org):
        [row] = Delivery.objects.all()
    assert row.success is False
    assert "127.0.0.1, a loopback address" in row.error


def test_dns_rebinding_the_connection_goes_to_the_checked_address(
    tenant_a, receiver, settings, monkeypatch
):
    # Given an endpoint whose name answers a public address first, then 127.0.0.1
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False
    public = "93.184.215.14"
    answers = [public]
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        lookups.append(host)
        address = answers.pop(0) if answers else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    # ... and a network where the public address is served by the test receiver
    connected: list[tuple[str, int]] = []
    real_connect = urllib3.util.connection.create_connection

    def network(address, *args, **kwargs):
        connected.append(address)
        host, port = address
        return real_connect(("127.0.0.1" if host == public else host, port), *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", network)
    name = f"hooks.example.test:{receiver.port}"
    with tenant(tenant_a.org), transaction.atomic():
        endpoint = Endpoint.objects.create(
            organization=tenant_a.org, url=f"http://{name}/hook", event_types=["*"],
            secret=crypto.encrypt(signing.new_secret()),
        )  # fmt: skip
        payload = {
            "endpoint": endpoint.id, "message_id": "msg_rebind", "type": "ticket.created",
            "body": services.body_of("ticket.created", {}), "replay_of": None,
        }  # fmt: skip
        # When a message is delivered
        outcome = services.attempt(payload, resolver=rebinding)
    # Then the name was looked up once, and the connection went to that checked answer
    assert lookups == ["hooks.example.test"]
    assert connected == [(public, receiver.port)]
    assert outcome is not None
    assert outcome.success is True
    # ... with the name kept in the Host header
    assert receiver.requests[0].headers["host"] == name


def test_a_redirect_to_an_internal_address_is_not_followed(tenant_a, receiver):
    make_endpoint(tenant_a, receiver.url("/hook"), ["ticket.created"])
    receiver.script = [(307, b"", {"Location": "http://169.254.169.254/latest/meta-data"})]
    from tests.webhooks.test_delivery import open_ticket

    open_ticket(tenant_a)
    assert delivery.drain().retried == 1
    assert [r.path for r in receiver.requests] == ["/hook"]
    with tenant(tenant_a.org):
        [row] = Delivery.objects.all()
    assert row.response_status == 307
    assert "redirect, not followed" in row.error


def test_a_kept_connection_is_reused_only_for_the_same_checked_address(
    tenant_a, keepalive_receiver, settings, monkeypatch
):
    # Given a name that answers one public address twice, then another one
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False
    first, second = "93.184.215.14", "93.184.215.15"
    answers = [first, first, second]

    def moving(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers.pop(0), port))]

    # ... on a network where both addresses are served by a receiver keeping connections
    connected: list[tuple[str, int]] = []
    real_connect = urllib3.util.connection.create_connection

    def network(address, *args, **kwargs):
        connected.append(address)
        return real_connect(("127.0.0.1", address[1]), *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", network)
    with tenant(tenant_a.org), transaction.atomic():
        endpoint = Endpoint.objects.create(
            organization=tenant_a.org, url=f"http://hooks.example.test:{keepalive_receiver.port}/",
            event_types=["*"], secret=crypto.encrypt(signing.new_secret()),
        )  # fmt: skip
        # When three messages are delivered
        for n in range(3):
            payload = {
                "endpoint": endpoint.id, "message_id": f"msg_moving_{n}", "replay_of": None,
                "type": "ticket.created", "body": services.body_of("ticket.created", {}),
            }  # fmt: skip
            outcome = services.attempt(payload, resolver=moving)
            assert outcome is not None
            assert outcome.success
    # Then the first two shared the connection to the first address; the third, whose
    # name now answered another address, connected to that address
    assert connected == [(first, keepalive_receiver.port), (second, keepalive_receiver.port)]
    assert keepalive_receiver.connections == 2
    assert len(keepalive_receiver.requests) == 3
