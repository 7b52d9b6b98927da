"""Stored JSON is bounded (depth, keys, size) in the services and in PostgreSQL, and what
the database already holds never stops the API from answering."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from deskbase.tickets.models import Ticket
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def field_of(response) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return response.json()["errors"][0]["field"]


@pytest.mark.parametrize(
    "custom_fields",
    [
        nested(300),
        nested(6),
        {f"k{n}": n for n in range(201)},
        {"note": "x" * 17_000},
    ],
    ids=["300-deep", "6-deep", "201-keys", "17kB"],
)
def test_custom_fields_out_of_bounds_are_a_422_and_store_nothing(
    tenant_a, tenant_b, app_role, custom_fields
):
    customer = ApiClient(tenant_a.customer)
    response = customer.post("/tickets", {"subject": "Deep", "custom_fields": custom_fields})
    assert response.status_code == 422, response.content
    assert field_of(response) == "custom_fields"
    assert not Ticket.objects.filter(subject="Deep").exists()
    # The organization's list still answers for everyone.
    assert customer.get("/tickets").status_code == 200
    assert ApiClient(tenant_a.agent).get("/tickets").status_code == 200


def test_custom_fields_within_bounds_are_kept(tenant_a, app_role):
    agent = ApiClient(tenant_a.agent)
    body = {"subject": "Ok", "customer_id": tenant_a.customer.id, "custom_fields": nested(5)}
    response = agent.post("/tickets", body)
    assert response.status_code == 201, response.content
    assert response.json()["custom_fields"] == nested(5)


def test_a_patch_of_custom_fields_is_bounded_too(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    agent = ApiClient(tenant_a.agent)
    response = agent.patch(f"/tickets/{ticket.number}", {"custom_fields": nested(300)},
                           headers={"If-Match": '"1"'})  # fmt: skip
    assert response.status_code == 422
    assert field_of(response) == "custom_fields"


def test_organization_settings_are_bounded(tenant_a, app_role):
    admin = ApiClient(tenant_a.admin)
    response = admin.patch("/organization", {"settings": nested(300)})
    assert response.status_code == 422
    assert field_of(response) == "settings"
    response = admin.patch("/organization", {"settings": {"blob": "x" * 70_000}})
    assert field_of(response) == "settings"
    assert admin.patch("/organization", {"settings": nested(8)}).status_code == 200


def test_json_nested_past_any_parser_limit_is_a_422_not_a_500(tenant_a, app_role):
    body = '{"subject": "x", "custom_fields": ' + '{"a": ' * 5000 + "1" + "}" * 5001
    response = ApiClient(tenant_a.customer).client.post(
        "/api/v1/tickets", body, content_type="application/json",
        headers={"Authorization": f"Bearer {ApiClient(tenant_a.customer).token}"},
    )  # fmt: skip
    assert response.status_code in (400, 422), response.content
    assert response["Content-Type"] == "application/problem+json"


def _sql(statement: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def test_postgresql_measures_depth():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT deskbase_jsonb_depth('1'), deskbase_jsonb_depth('{}'),"
            " deskbase_jsonb_depth('{\"a\": 1}'),"
            ' deskbase_jsonb_depth(\'{"a": [1, {"b": []}]}\'),'
            " deskbase_jsonb_depth(%s::jsonb)",
            [json.dumps(nested(300))],
        )
        assert cursor.fetchone() == (0, 1, 1, 4, 300)


@pytest.mark.parametrize(
    ("table", "assignment", "value", "constraint"),
    [
        ("tickets_ticket", "custom_fields = %s::jsonb", nested(6),
         "tickets_ticket_custom_fields_bounded"),
        ("organizations_organization", "settings = %s::jsonb", nested(300),
         "organizations_organization_settings_bounded"),
        ("organizations_organization", "business_hours = %s::jsonb",
         {"mon": [[["09:00"]]]}, "organizations_organization_business_hours_bounded"),
        ("accounts_user", "skills = %s::jsonb", [["deep"]], "accounts_user_skills_bounded"),
    ],
)  # fmt: skip
def test_postgresql_refuses_json_too_deep(tenant_a, table, assignment, value, constraint):
    open_ticket(tenant_a)
    with pytest.raises(IntegrityError, match=constraint):
        _sql(f"UPDATE {table} SET {assignment}", [json.dumps(value)])  # noqa: S608


def test_postgresql_refuses_json_too_large(tenant_a):
    ticket = open_ticket(tenant_a)
    with pytest.raises(IntegrityError, match="tickets_ticket_custom_fields_bounded"):
        _sql("UPDATE tickets_ticket SET custom_fields = %s::jsonb WHERE id = %s",
             [json.dumps({"x": "y" * 40_000}), ticket.id])  # fmt: skip


def test_a_deep_value_already_stored_does_not_break_list_or_detail(tenant_a, tenant_b):
    """Given a row written before the bounds (the CHECK lifted for the write, as in a
    database that held it before the migration), the list and the detail still answer."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tickets_ticket DROP CONSTRAINT"
                       " tickets_ticket_custom_fields_bounded")  # fmt: skip
    ticket = open_ticket(tenant_a)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET custom_fields = %s::jsonb WHERE id = %s",
                       [json.dumps({"n": 12345678901234567890123, **nested(300)}),
                        ticket.id])  # fmt: skip
    agent = ApiClient(tenant_a.agent)
    listed = agent.get("/tickets")
    assert listed.status_code == 200, listed.content[:300]
    assert "(nested too deeply to show)" in listed.content.decode()
    detail = agent.get(f"/tickets/{ticket.number}")
    assert detail.status_code == 200, detail.content[:300]
    assert detail.json()["custom_fields"]["n"] == "12345678901234567890123"  # past 64 bits
    assert "(nested too deeply to show)" in detail.content.decode()
    customer = ApiClient(tenant_a.customer)
    assert customer.get("/tickets").status_code == 200
    assert customer.get(f"/tickets/{ticket.number}").status_code == 200


def test_a_value_no_parser_reads_still_leaves_the_list_answering(tenant_a, app_role):
    """Nested past every JSON parser's limit (1,100 levels): the list shows the row with a
    marker in place of its custom fields."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE NONE")
        cursor.execute("ALTER TABLE tickets_ticket DROP CONSTRAINT"
                       " tickets_ticket_custom_fields_bounded")  # fmt: skip
    ticket = open_ticket(tenant_a)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET custom_fields = %s::jsonb WHERE id = %s",
                       ['{"a": ' * 1100 + "1" + "}" * 1100, ticket.id])  # fmt: skip
    listed = ApiClient(tenant_a.agent).get("/tickets")
    assert listed.status_code == 200, listed.content[:300]
    assert listed.json()["items"][0]["custom_fields"] == {
        "(unreadable)": "nested too deeply to show"
    }
