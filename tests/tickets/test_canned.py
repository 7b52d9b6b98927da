"""Canned responses: fixed placeholders filled as plain text, shared and personal ones."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.accounts.models import User
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets.canned import (
    PLACEHOLDERS,
    canned_response_create,
    canned_response_delete,
    canned_response_render,
    canned_response_update,
    canned_responses_for,
)
from deskbase.tickets.models import CannedResponse
from tests.helpers import make_ticket

pytestmark = pytest.mark.django_db

EVERY_PLACEHOLDER = (
    "Hi {{ customer.name }} <{{customer.email}}>, about #{{ ticket.number }} "
    "({{ ticket.subject }}, {{ ticket.status }}): {{  agent.name  }} ({{ agent.email }}) "
    "of {{ organization.name }}"
)


def second_agent(world) -> User:
    return User.objects.create_user(
        f"agent2@{world.org.slug}.test", "pw-for-tests-1", organization=world.org,
        role="agent", full_name="Second Agent", availability="online",
    )  # fmt: skip


def create(world, actor=None, *, name="Greeting", body="Hello {{ customer.name }}", **kw):
    return canned_response_create(
        organization=world.org, actor=actor or world.manager, name=name, body=body, **kw
    )


def render(world, canned, ticket, actor=None) -> str:
    return canned_response_render(
        organization=world.org, actor=actor or world.agent, canned=canned, ticket=ticket
    )


def names_for(world, actor) -> list[str]:
    return [c.name for c in canned_responses_for(organization=world.org, actor=actor)]


# ------------------------------------------------------------------ rendering
def test_every_placeholder_is_filled_from_the_ticket_the_agent_and_the_organization(tenant_a):
    # Given a shared response using every placeholder and a new ticket
    canned = create(tenant_a, body=EVERY_PLACEHOLDER)
    ticket = make_ticket(tenant_a)
    # When the agent renders it
    text = render(tenant_a, canned, ticket)
    # Then each placeholder has its value, as plain text
    assert text == (
        f"Hi Acme Customer <customer@acme.test>, about #{ticket.number} "
        "(Printer on fire, New): Acme Agent (agent@acme.test) of Acme"
    )
    assert set(PLACEHOLDERS) == {
        "customer.name", "customer.email", "ticket.number", "ticket.subject", "ticket.status",
        "agent.name", "agent.email", "organization.name",
    }  # fmt: skip


@pytest.mark.parametrize(
    "placeholder",
    [
        "{{ settings.SECRET_KEY }}",
        "{{ customer.name|upper }}",
        "{{ customer.__class__ }}",
        "{{ ticket.customer.password }}",
        "{{ request }}",
        "{{}}",
    ],
)
def test_unknown_placeholders_are_refused_naming_the_known_ones(tenant_a, placeholder):
    with pytest.raises(ValidationFailed) as error:
        create(tenant_a, body=f"Dear {placeholder}")
    assert error.value.field == "body"
    message = error.value.errors["body"][0]
    assert message.startswith("Unknown placeholder {{ ")
    assert "use one of {{ customer.name }}, {{ customer.email }}" in message
    with tenant(tenant_a.org):
        assert not CannedResponse.objects.exists()


def test_template_tags_are_inert_text_not_code(tenant_a, settings):
    # Given a body with Django template syntax that is not a placeholder
    body = "{% load static %}{% debug %}{# note #} {{ agent.name }}"
    canned = create(tenant_a, body=body)
    # Then rendering leaves it as written: no template engine ever sees it
    text = render(tenant_a, canned, make_ticket(tenant_a))
    assert text == "{% load static %}{% debug %}{# note #} Acme Agent"


def test_a_body_that_skipped_validation_still_reaches_nothing(tenant_a, settings):
    # Given a body written straight into the table, past the service's checks
    with tenant(tenant_a.org):
        canned = CannedResponse.objects.create(
            organization=tenant_a.org, name="Raw", body="{{ settings.SECRET_KEY }} {{ agent.name }}"
        )
    # Then the unknown placeholder is left as text and the secret never appears
    text = render(tenant_a, canned, make_ticket(tenant_a))
    assert text == "{{ settings.SECRET_KEY }} Acme Agent"
    assert settings.SECRET_KEY not in text


def test_values_are_inserted_as_text_and_never_expanded_again(tenant_a):
    # Given a customer whose name looks like a placeholder and markup
    tricky = User.objects.create_user(
        "tricky@acme.test", "pw-for-tests-1", organization=tenant_a.org,
        full_name="{{ agent.email }} <script>alert(1)</script>",
    )  # fmt: skip
    canned = create(tenant_a, body="Hello {{ customer.name }}")
    # Then the name is copied verbatim: not expanded, not interpreted
    text = render(tenant_a, canned, make_ticket(tenant_a, customer=tricky))
    assert text == "Hello {{ agent.email }} <script>alert(1)</script>"


def test_each_render_counts_a_use(tenant_a):
    canned = create(tenant_a)
    ticket = make_ticket(tenant_a)
    for _ in range(3):
        render(tenant_a, canned, ticket)
    with tenant(tenant_a.org):
        canned.refresh_from_db()
    assert canned.usage_count == 3


# ------------------------------------------------------------------ shared and personal
def test_only_admins_and_managers_create_shared_responses(tenant_a):
    assert create(tenant_a, actor=tenant_a.admin, name="A").owner_id is None
    assert create(tenant_a, actor=tenant_a.manager, name="M").owner_id is None
    with pytest.raises(PermissionDenied):
        create(tenant_a, actor=tenant_a.agent, name="Ag")
    personal = create(tenant_a, actor=tenant_a.agent, name="Mine", personal=True)
    assert personal.owner_id == tenant_a.agent.id
    with pytest.raises(PermissionDenied):
        create(tenant_a, actor=tenant_a.customer, name="C", personal=True)


def test_agents_see_shared_and_their_own_personal_responses_by_name(tenant_a):
    # Given shared responses and personal ones of two agents
    other = second_agent(tenant_a)
    create(tenant_a, name="Zebra")
    create(tenant_a, name="Apology")
    create(tenant_a, actor=tenant_a.agent, name="Mine", personal=True)
    theirs = create(tenant_a, actor=other, name="Theirs", personal=True)
    # Then each agent lists the shared ones and their own, ordered by name
    assert names_for(tenant_a, tenant_a.agent) == ["Apology", "Mine", "Zebra"]
    assert names_for(tenant_a, other) == ["Apology", "Theirs", "Zebra"]
    assert names_for(tenant_a, tenant_a.manager) == ["Apology", "Zebra"]
    # And someone else's personal response cannot be used or changed: it is not there
    ticket = make_ticket(tenant_a)
    with pytest.raises(NotFound):
        render(tenant_a, theirs, ticket)
    with pytest.raises(NotFound):
        canned_response_update(
            organization=tenant_a.org, actor=tenant_a.agent, canned=theirs, name="Stolen"
        )
    assert render(tenant_a, theirs, ticket, actor=other) == "Hello Acme Customer"


def test_the_list_is_one_query(tenant_a):
    create(tenant_a, name="One")
    create(tenant_a, actor=tenant_a.agent, name="Two", personal=True)
    with CaptureQueriesContext(connection) as queries:
        listed = canned_responses_for(organization=tenant_a.org, actor=tenant_a.agent)
    assert [c.name for c in listed] == ["One", "Two"]
    assert sum("tickets_cannedresponse" in q["sql"] for q in queries.captured_queries) == 1


def test_customers_cannot_use_canned_responses(tenant_a):
    canned = create(tenant_a)
    with pytest.raises(PermissionDenied):
        render(tenant_a, canned, make_ticket(tenant_a), actor=tenant_a.customer)
    with pytest.raises(PermissionDenied):
        canned_responses_for(organization=tenant_a.org, actor=tenant_a.customer)


# ------------------------------------------------------------------ update and delete
def test_update_changes_name_and_body_and_checks_placeholders(tenant_a):
    canned = create(tenant_a)
    updated = canned_response_update(
        organization=tenant_a.org, actor=tenant_a.manager, canned=canned,
        name="  Welcome ", body="Welcome {{ customer.name }}",
    )  # fmt: skip
    assert (updated.name, updated.body) == ("Welcome", "Welcome {{ customer.name }}")
    with pytest.raises(ValidationFailed) as error:
        canned_response_update(
            organization=tenant_a.org, actor=tenant_a.manager, canned=canned, body="{{ oops }}"
        )
    assert error.value.errors["body"][0].startswith("Unknown placeholder {{ oops }}; use one of")
    with tenant(tenant_a.org):
        canned.refresh_from_db()
    assert canned.body == "Welcome {{ customer.name }}"


def test_agents_cannot_edit_shared_responses_but_edit_their_own(tenant_a):
    shared = create(tenant_a)
    with pytest.raises(PermissionDenied):
        canned_response_update(
            organization=tenant_a.org, actor=tenant_a.agent, canned=shared, name="Mine now"
        )
    mine = create(tenant_a, actor=tenant_a.agent, name="Draft", personal=True)
    renamed = canned_response_update(
        organization=tenant_a.org, actor=tenant_a.agent, canned=mine, name="Final"
    )
    assert renamed.name == "Final"


def test_names_are_unique_among_shared_responses_and_per_owner(tenant_a):
    create(tenant_a, name="Hello")
    with pytest.raises(ValidationFailed) as error:
        create(tenant_a, name="Hello")
    assert error.value.errors == {"name": ["A canned response with this name already exists."]}
    # A personal response may share a shared one's name
    assert create(tenant_a, actor=tenant_a.agent, name="Hello", personal=True).name == "Hello"


@pytest.mark.parametrize(("name", "body"), [("", "x"), ("x", "   "), ("n" * 121, "x")])
def test_blank_or_too_long_fields_are_field_errors(tenant_a, name, body):
    with pytest.raises(ValidationFailed) as error:
        create(tenant_a, name=name, body=body)
    assert error.value.field == ("name" if body.strip() else "body")


def test_a_deleted_response_disappears_from_lists_and_rendering(tenant_a):
    canned = create(tenant_a, name="Old")
    with pytest.raises(PermissionDenied):
        canned_response_delete(organization=tenant_a.org, actor=tenant_a.agent, canned=canned)
    deleted = canned_response_delete(
        organization=tenant_a.org, actor=tenant_a.manager, canned=canned, reason="outdated"
    )
    assert deleted.is_deleted
    assert deleted.delete_reason == "outdated"
    assert names_for(tenant_a, tenant_a.agent) == []
    with pytest.raises(NotFound):
        render(tenant_a, canned, make_ticket(tenant_a))
    # And its name is free again
    assert create(tenant_a, name="Old").name == "Old"


# ------------------------------------------------------------------ tenants
def test_under_row_level_security_tenants_never_see_each_others_responses(
    tenant_a, tenant_b, app_role
):
    # Given a shared response of tenant A, made as the application role
    canned = create(tenant_a, name="Acme only")
    create(tenant_b, name="Globex only")
    # Then tenant B lists only its own, and cannot render A's on its own ticket
    assert names_for(tenant_b, tenant_b.agent) == ["Globex only"]
    with pytest.raises(NotFound):
        render(tenant_b, canned, make_ticket(tenant_b), actor=tenant_b.agent)
    assert render(tenant_a, canned, make_ticket(tenant_a)) == "Hello Acme Customer"
