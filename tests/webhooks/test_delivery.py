"""Webhook messages from domain events, delivered by the outbox worker to a real HTTP
receiver: signed (Standard Webhooks, checked with the reference library and with an
independent HMAC), retried on failure, disabled on 410, never following a redirect,
logged per attempt, replayable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from deskbase.core.tenancy import tenant
from deskbase.outbox import delivery
from deskbase.outbox.models import OutboxMessage
from deskbase.tickets import services as tickets
from deskbase.webhooks import services
from deskbase.webhooks.models import Delivery, Endpoint
from tests.webhooks.conftest import make_due, make_endpoint

pytestmark = pytest.mark.django_db


def open_ticket(world, subject: str = "Printer on fire"):
    return tickets.ticket_create(
        organization=world.org, actor=world.agent, subject=subject, customer=world.customer
    )


def verify_independently(secret: str, headers: dict[str, str], body: bytes) -> bool:
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return f"v1,{expected}" in headers["webhook-signature"].split(" ")


def logged(world) -> list[Delivery]:
    with tenant(world.org):
        return list(Delivery.objects.filter(organization_id=world.org.id).order_by("id"))


def test_a_ticket_event_reaches_the_receiver_signed_with_the_public_representation(
    tenant_a, tenant_b, receiver
):
    # Given an endpoint of acme subscribed to ticket.created, and one of globex
    endpoint, secret = make_endpoint(tenant_a, receiver.url("/acme"), ["ticket.created"])
    make_endpoint(tenant_b, receiver.url("/globex"))
    # When an acme ticket is opened and the worker delivers
    ticket = open_ticket(tenant_a)
    result = delivery.drain()
    # Then exactly one message went, to acme's endpoint
    assert result.delivered == 1
    assert [r.path for r in receiver.requests] == ["/acme"]
    sent = receiver.requests[0]
    # ... signed: the reference verifier and an independent HMAC both accept it
    verified = Webhook(secret).verify(sent.body, sent.headers)
    assert verify_independently(secret, sent.headers, sent.body)
    assert sent.headers["webhook-id"].startswith("msg_")
    assert sent.headers["content-type"] == "application/json"
    # ... with the event and the API's representation of the ticket, and no secret
    body = json.loads(sent.body)
    assert verified["type"] == body["type"] == "ticket.created"
    assert body["data"]["ticket"]["number"] == ticket.number
    assert body["data"]["ticket"]["subject"] == "Printer on fire"
    assert body["data"]["ticket"]["customer"]["email"] == tenant_a.customer.email
    assert "whsec_" not in sent.body.decode()
    # And the attempt is logged, without the secret
    [row] = logged(tenant_a)
    assert (row.endpoint_id, row.event_type, row.attempt, row.success) == (
        endpoint.id,
        "ticket.created",
        1,
        True,
    )
    assert row.response_status == 200
    assert row.response_body == "ok"
    assert row.request_headers["webhook-id"] == sent.headers["webhook-id"]
    assert secret not in json.dumps(row.request_headers) + row.request_body
    assert logged(tenant_b) == []


def test_an_endpoint_not_subscribed_to_the_event_gets_nothing(tenant_a, receiver):
    make_endpoint(tenant_a, receiver.url(), ["comment.added"])
    open_ticket(tenant_a)
    assert delivery.drain().claimed == 0
    assert receiver.requests == []


def test_a_500_is_retried_on_the_schedule_and_delivered_once(tenant_a, receiver):
    # Given a receiver that fails once, then takes the message
    make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    receiver.script = [(500, b"database down", {})]
    open_ticket(tenant_a)
    # When the worker delivers: the first attempt fails
    started = timezone.now()
    assert delivery.drain().retried == 1
    # Then the message waits about 5 s (the schedule's first step, +-20%)
    row = OutboxMessage.objects.get(consumer=services.CONSUMER)
    assert row.state == "pending"
    assert "answered 500" in row.last_error
    assert timedelta(seconds=3.9) <= row.next_attempt_at - started <= timedelta(seconds=7)
    # When it is due again
    make_due()
    assert delivery.drain().delivered == 1
    # Then the receiver got it twice with the same webhook-id, and it is delivered once
    assert len(receiver.requests) == 2
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("delivered", 2)
    attempts = logged(tenant_a)
    assert [(d.attempt, d.success, d.response_status) for d in attempts] == [
        (1, False, 500),
        (2, True, 200),
    ]
    assert attempts[0].response_body == "database down"
    assert delivery.drain().claimed == 0


def test_the_retry_schedule_spreads_attempts_over_about_three_days():
    total = sum(services.RETRY_SCHEDULE)
    assert timedelta(days=2.5) <= timedelta(seconds=total) <= timedelta(days=3.5)
    assert len(services.RETRY_SCHEDULE) + 1 == services.MAX_ATTEMPTS


def test_410_gone_disables_the_endpoint_and_is_not_retried(tenant_a, receiver):
    endpoint, _ = make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    receiver.default = (410, b"gone", {})
    open_ticket(tenant_a)
    result = delivery.drain()
    assert (result.delivered, result.retried) == (1, 0)
    with tenant(tenant_a.org):
        endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert "410 Gone" in endpoint.disabled_reason
    assert endpoint.disabled_at is not None
    # And a later event sends nothing to it
    open_ticket(tenant_a, "Second")
    assert delivery.drain().claimed == 0
    assert len(receiver.requests) == 1


def test_a_redirect_is_a_failure_and_is_not_followed(tenant_a, receiver):
    make_endpoint(tenant_a, receiver.url("/hook"), ["ticket.created"])
    receiver.script = [(302, b"", {"Location": receiver.url("/internal-admin")})]
    open_ticket(tenant_a)
    assert delivery.drain().retried == 1
    assert [r.path for r in receiver.requests] == ["/hook"]
    [row] = logged(tenant_a)
    assert row.success is False
    assert row.response_status == 302
    assert "redirect, not followed" in row.error


def test_a_slow_receiver_times_out_and_a_long_answer_is_cut(tenant_a, receiver, settings):
    settings.WEBHOOKS_TIMEOUT = 0.3
    make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    receiver.delay = 1.0
    open_ticket(tenant_a)
    assert delivery.drain().retried == 1
    [row] = logged(tenant_a)
    assert row.success is False
    assert "timed out" in row.error
    # A receiver answering 1 MB: read up to the limit, a short excerpt kept
    settings.WEBHOOKS_TIMEOUT = 15
    receiver.delay = 0
    receiver.default = (200, b"x" * 1_000_000, {})
    make_due()
    assert delivery.drain().delivered == 1
    assert len(logged(tenant_a)[-1].response_body) == services.STORED_RESPONSE


def test_replay_sends_the_same_message_again_as_a_new_delivery(tenant_a, receiver):
    make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    open_ticket(tenant_a)
    delivery.drain()
    [first] = logged(tenant_a)
    # When an admin replays it
    assert services.delivery_replay(
        organization=tenant_a.org, actor=tenant_a.admin, delivery_id=first.id
    )
    delivery.drain()
    # Then a new delivery is logged, naming the first, with the same id and body
    rows = logged(tenant_a)
    assert len(rows) == 2
    assert rows[1].replay_of == first.id
    assert rows[1].message_id == first.message_id
    assert rows[1].request_body == first.request_body
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body


def test_during_a_rotation_both_secrets_verify(tenant_a, receiver):
    endpoint, old = make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    _, new = services.endpoint_rotate_secret(
        organization=tenant_a.org, actor=tenant_a.admin, endpoint_id=endpoint.id
    )
    assert new != old
    assert new.startswith("whsec_")
    open_ticket(tenant_a)
    delivery.drain()
    sent = receiver.requests[0]
    assert len(sent.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(sent.body, sent.headers)
        assert verify_independently(secret, sent.headers, sent.body)
    # After a rotation without grace, only the new secret signs
    _, newest = services.endpoint_rotate_secret(
        organization=tenant_a.org, actor=tenant_a.admin, endpoint_id=endpoint.id,
        keep_previous_hours=0,
    )  # fmt: skip
    open_ticket(tenant_a, "Another")
    delivery.drain()
    last = receiver.requests[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    Webhook(newest).verify(last.body, last.headers)
    assert not verify_independently(new, last.headers, last.body)


def test_send_event_enqueues_once_per_key_and_refuses_another_tenants_endpoint(
    tenant_a, tenant_b, receiver
):
    endpoint, _ = make_endpoint(tenant_a, receiver.url(), ["comment.added"])
    theirs, _ = make_endpoint(tenant_b, receiver.url())
    with transaction.atomic():
        first = services.send_event(
            organization=tenant_a.org,
            endpoint=endpoint,
            event_type="rule.fired",
            data={"rule": 7},
            key="rule:7:t:1",
        )
        again = services.send_event(
            organization=tenant_a.org,
            endpoint=endpoint.id,
            event_type="rule.fired",
            data={"rule": 7},
            key="rule:7:t:1",
        )
    assert (first, again) == (True, False)
    from deskbase.core.errors import NotFound

    with pytest.raises(NotFound) as refused, transaction.atomic():
        services.send_event(organization=tenant_a.org, endpoint=theirs, event_type="rule.fired",
                            data={}, key="k")  # fmt: skip
    assert refused.value.field == "endpoint"
    assert delivery.drain().delivered == 1
    assert json.loads(receiver.requests[0].body)["data"] == {"rule": 7}


def test_a_comment_event_carries_the_comment(tenant_a, receiver):
    make_endpoint(tenant_a, receiver.url(), ["comment.added"])
    ticket = open_ticket(tenant_a)
    tickets.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                        body="We are on it")  # fmt: skip
    delivery.drain()
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "comment.added"
    assert body["data"]["comment"]["body_text"] == "We are on it"
    assert body["data"]["ticket"]["number"] == ticket.number
    assert Endpoint.objects.count() >= 1


def test_an_endpoint_failing_for_days_is_disabled_and_a_success_resets_the_clock(
    tenant_a, receiver
):
    endpoint, _ = make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    receiver.script = [(503, b"", {})]
    open_ticket(tenant_a, "First")
    delivery.drain()
    with tenant(tenant_a.org):
        endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    assert endpoint.enabled is True
    # A success clears the clock
    make_due()
    delivery.drain()
    with tenant(tenant_a.org):
        endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    # Failing since six days (more than WEBHOOKS_DISABLE_AFTER_DAYS), another failure
    with tenant(tenant_a.org), transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(days=6)
        )
    receiver.default = (500, b"", {})
    open_ticket(tenant_a, "Second")
    delivery.drain()
    with tenant(tenant_a.org):
        endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert endpoint.disabled_reason == "Every delivery failed for 5 days."


def test_a_batch_to_one_receiver_reuses_one_connection_to_the_checked_address(
    tenant_a, keepalive_receiver
):
    # Given an endpoint on a receiver that keeps connections alive, and five events
    make_endpoint(tenant_a, keepalive_receiver.url(), ["ticket.created"])
    for n in range(5):
        open_ticket(tenant_a, f"Printer {n}")
    # When the worker delivers them
    assert delivery.drain().delivered == 5
    # Then they all went over one connection, each still signed and logged
    assert len(keepalive_receiver.requests) == 5
    assert keepalive_receiver.connections == 1
    assert all(row.success for row in logged(tenant_a))


def test_a_connection_whose_answer_was_cut_is_not_reused(tenant_a, keepalive_receiver):
    # Given a receiver whose first answer is longer than the limit read
    make_endpoint(tenant_a, keepalive_receiver.url(), ["ticket.created"])
    keepalive_receiver.script = [(200, b"x" * 200_000, {})]
    open_ticket(tenant_a, "First")
    assert delivery.drain().delivered == 1
    # When the next message goes
    open_ticket(tenant_a, "Second")
    assert delivery.drain().delivered == 1
    # Then it went over a new connection: the unread rest of the answer is never taken
    # for the next answer
    assert keepalive_receiver.connections == 2
    assert [row.response_status for row in logged(tenant_a)] == [200, 200]
