"""Typed custom fields: defined per organization, checked by the service and the database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from deskbase.core.errors import PermissionDenied, ValidationFailed, from_integrity_error
from deskbase.core.tenancy import tenant
from deskbase.customers import services as companies
from deskbase.tickets import customfields, services
from deskbase.tickets.models import Ticket
from tests.helpers import assert_sql_refused
from tests.tickets.factories import open_ticket


def _define(world, **extra):
    fields = {
        "plan": dict(field_type="select", options=["free", "pro"], label="Plan"),
        "seats": dict(field_type="number", label="Seats"),
        "renewal": dict(field_type="date", label="Renewal"),
        "vip": dict(field_type="checkbox", label="VIP"),
        "note": dict(field_type="text", label="Note"),
    }
    return {
        key: customfields.custom_field_create(
            organization=world.org, actor=world.admin, key=key, **spec, **extra
        )
        for key, spec in fields.items()
    }


def _update(world, ticket, custom_fields):
    fresh = Ticket.objects.get(pk=ticket.pk)
    return services.ticket_update(organization=world.org, actor=world.agent, ticket=fresh,
                                  version=fresh.version, custom_fields=custom_fields)  # fmt: skip


def test_typed_values_are_kept(tenant_a):
    _define(tenant_a)
    ticket = open_ticket(tenant_a)
    values = {"plan": "pro", "seats": 12, "renewal": "2027-01-31", "vip": True, "note": "hi"}
    assert _update(tenant_a, ticket, values).custom_fields == values


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"plan": "gold"}, "custom_fields.plan"),
        ({"seats": "12"}, "custom_fields.seats"),
        ({"renewal": "2027-02-30"}, "custom_fields.renewal"),
        ({"vip": "yes"}, "custom_fields.vip"),
        ({"colour": "red"}, "custom_fields.colour"),
    ],
)
def test_a_wrong_value_is_a_field_error_and_nothing_changes(tenant_a, values, field):
    _define(tenant_a)
    ticket = open_ticket(tenant_a)
    with pytest.raises(ValidationFailed) as error:
        _update(tenant_a, ticket, values)
    assert error.value.field == field
    assert Ticket.objects.get(pk=ticket.pk).custom_fields == {}


@pytest.mark.parametrize(
    ("value", "words"),
    [('{"plan": "gold"}', "Plan is one of its options"), ('{"colour": 1}', "no custom field"),
     ('{"seats": "x"}', "Seats is a number"), ('{"renewal": "2027-13-01"}', "date")],
)  # fmt: skip
def test_the_database_refuses_what_the_service_would(tenant_a, value, words):
    _define(tenant_a)
    ticket = open_ticket(tenant_a)
    with tenant(tenant_a.org):
        assert_sql_refused(IntegrityError, words,
                           "UPDATE tickets_ticket SET custom_fields = %s::jsonb WHERE id = %s",
                           [value, ticket.id])  # fmt: skip


def test_a_database_refusal_names_the_key(tenant_a):
    _define(tenant_a)
    ticket = open_ticket(tenant_a)
    with pytest.raises(IntegrityError) as error, tenant(tenant_a.org):
        Ticket.objects.filter(pk=ticket.pk).update(custom_fields={"plan": "gold"})
    failed = from_integrity_error(error.value)
    assert failed is not None
    assert failed.field == "custom_fields.plan"


def test_only_changed_values_are_checked(tenant_a):
    ticket = open_ticket(tenant_a, custom_fields={"legacy": "x", "plan": "gold"})
    _define(tenant_a)
    updated = _update(tenant_a, ticket, {"legacy": "x", "plan": "gold", "seats": 3})
    assert updated.custom_fields == {"legacy": "x", "plan": "gold", "seats": 3}


def test_an_archived_field_takes_no_new_value_but_keeps_old_ones(tenant_a):
    fields = _define(tenant_a)
    ticket = _update(tenant_a, open_ticket(tenant_a), {"plan": "free"})
    customfields.custom_field_update(organization=tenant_a.org, actor=tenant_a.manager,
                                     field=fields["plan"], archived=True)  # fmt: skip
    assert _update(tenant_a, ticket, {"plan": "free", "vip": True}).custom_fields["plan"] == "free"
    with pytest.raises(ValidationFailed, match="archived"):
        _update(tenant_a, ticket, {"plan": "pro"})


def test_another_organizations_definitions_do_not_apply(tenant_a, tenant_b):
    _define(tenant_b)
    ticket = open_ticket(tenant_a)
    assert _update(tenant_a, ticket, {"plan": "gold"}).custom_fields == {"plan": "gold"}
    theirs = open_ticket(tenant_b)
    with pytest.raises(ValidationFailed):
        _update(tenant_b, theirs, {"plan": "gold"})
    listed = customfields.custom_fields_for(organization=tenant_a.org, actor=tenant_a.agent)
    assert listed == []


def test_only_admins_and_managers_define_fields(tenant_a):
    with pytest.raises(PermissionDenied):
        customfields.custom_field_create(organization=tenant_a.org, actor=tenant_a.agent,
                                         key="plan", label="Plan", field_type="text")  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "field"),
    [(dict(key="Plan", label="Plan", field_type="text"), "key"),
     (dict(key="plan", label=" ", field_type="text"), "label"),
     (dict(key="plan", label="Plan", field_type="select"), "options"),
     (dict(key="plan", label="Plan", field_type="colour"), "field_type")],
)  # fmt: skip
def test_a_bad_definition_names_the_field(tenant_a, spec, field):
    with pytest.raises(ValidationFailed) as error:
        customfields.custom_field_create(organization=tenant_a.org, actor=tenant_a.admin, **spec)
    assert error.value.field == field


def test_company_fields_are_checked_always(tenant_a):
    company = companies.company_create(organization=tenant_a.org, actor=tenant_a.admin,
                                       name="Northwind")  # fmt: skip
    with pytest.raises(ValidationFailed) as error:
        companies.company_update(organization=tenant_a.org, actor=tenant_a.admin,
                                 company_id=company.id, custom_fields={"size": 10})  # fmt: skip
    assert error.value.field == "custom_fields.size"
    customfields.custom_field_create(
        organization=tenant_a.org, actor=tenant_a.admin, key="size", label="Size",
        field_type="number", applies_to="company",
    )  # fmt: skip
    updated = companies.company_update(
        organization=tenant_a.org, actor=tenant_a.admin, company_id=company.id,
        custom_fields={"size": 10},
    )  # fmt: skip
    assert updated.custom_fields == {"size": 10}
    with tenant(tenant_a.org):
        assert_sql_refused(IntegrityError, "Size is a number",
                           "UPDATE customers_company SET custom_fields = %s::jsonb WHERE id = %s",
                           ['{"size": "ten"}', company.id])  # fmt: skip
