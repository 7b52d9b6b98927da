"""The caller's row (tickets/access.py): tenant scoping and the permission check in one
place, and the API and the web pages answering alike through it.

Every scenario has two tenants: what tenant B (or another customer of A) must not
reach answers exactly like a row that does not exist.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from deskbase.accounts.models import Team, User
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets import canned, services
from deskbase.tickets.access import (
    access_attachment,
    access_canned_response,
    access_row,
    access_ticket_by_number,
    access_ticket_reference,
)
from deskbase.tickets.attachments import attachment_add
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def other_customer(tenant_a) -> User:
    with tenant(tenant_a.org):
        return User.objects.create_user("other@acme.test", "pw-for-tests-1",
                                        organization=tenant_a.org, role="customer")  # fmt: skip


def refused(call) -> str:
    with pytest.raises(NotFound) as caught:
        call()
    return caught.value.message


# ------------------------------------------------------------------ the functions
def test_a_ticket_by_number_is_the_callers_own_or_absent(tenant_a, tenant_b, other_customer):
    # Given ticket #1 in each tenant, A's belonging to A's customer, and A's #2 to another
    mine = open_ticket(tenant_a)
    theirs = open_ticket(tenant_a, customer=other_customer)
    open_ticket(tenant_b)
    # Then staff and the ticket's customer get it; B's people get B's own #1
    assert access_ticket_by_number(tenant_a.agent, mine.number).id == mine.id
    assert access_ticket_by_number(tenant_a.customer, mine.number).id == mine.id
    assert access_ticket_by_number(tenant_b.agent, 1).organization_id == tenant_b.org.id
    # And another customer's ticket, and a number B lacks, read like a missing number
    missing = refused(lambda: access_ticket_by_number(tenant_a.customer, 99))
    assert refused(lambda: access_ticket_by_number(tenant_a.customer, theirs.number)) == (
        f"no ticket #{theirs.number}"
    )
    assert refused(lambda: access_ticket_by_number(tenant_b.agent, theirs.number)) == (
        f"no ticket #{theirs.number}"
    )
    assert missing == "no ticket #99"


def test_deleted_tickets_are_absent_unless_asked_for(tenant_a, tenant_b):
    live, gone = open_ticket(tenant_a), open_ticket(tenant_a)
    services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.agent, ticket=gone)
    agent = tenant_a.agent
    refused(lambda: access_ticket_by_number(agent, gone.number))
    assert access_ticket_by_number(agent, gone.number, include_deleted=True).id == gone.id
    assert access_ticket_by_number(agent, live.number, include_deleted=True).id == live.id
    assert access_ticket_by_number(agent, gone.number, only_deleted=True).id == gone.id
    refused(lambda: access_ticket_by_number(agent, live.number, only_deleted=True))
    refused(lambda: access_ticket_by_number(tenant_b.agent, gone.number, include_deleted=True))


def test_for_update_locks_the_ticket_row_in_one_query(tenant_a):
    ticket = open_ticket(tenant_a)
    with (
        transaction.atomic(),
        tenant(tenant_a.org, tenant_a.agent),
        CaptureQueriesContext(connection) as captured,
    ):
        found = access_ticket_by_number(tenant_a.agent, ticket.number, for_update=True)
    assert found.id == ticket.id
    assert len(captured.captured_queries) == 1
    assert "FOR UPDATE" in captured.captured_queries[0]["sql"]


def test_a_ticket_named_in_a_field_is_bad_input_naming_it(tenant_a, tenant_b, other_customer):
    open_ticket(tenant_a)
    theirs = open_ticket(tenant_a, customer=other_customer)
    assert access_ticket_reference(tenant_a.agent, f"#{theirs.number}", field="into").id == (
        theirs.id
    )
    for user, raw in ((tenant_b.agent, theirs.number), (tenant_a.customer, theirs.number),
                      (tenant_a.agent, "x"), (tenant_a.agent, "9" * 30)):  # fmt: skip
        with pytest.raises(ValidationFailed) as caught:
            access_ticket_reference(user, raw, field="into")
        assert caught.value.field == "into"


def test_a_row_by_id_is_of_the_callers_tenant(tenant_a, tenant_b):
    with tenant(tenant_b.org):
        b_team = Team.objects.create(organization=tenant_b.org, name="B support")
    with tenant(tenant_a.org):
        a_team = Team.objects.create(organization=tenant_a.org, name="A support")
    assert access_row(Team, tenant_a.agent, a_team.id, field="team") == a_team
    with pytest.raises(ValidationFailed) as caught:
        access_row(Team, tenant_a.agent, b_team.id, field="team_id")
    assert caught.value.errors == {"team_id": ["No such team here."]}
    # An assignee comes from the roster of staff: a customer is no such assignee
    assert access_row(User, tenant_a.agent, tenant_a.agent.id, field="assignee_id", staff=True)
    with pytest.raises(ValidationFailed):
        access_row(User, tenant_a.agent, tenant_a.customer.id, field="assignee_id", staff=True)
    with pytest.raises(ValidationFailed):
        access_row(User, tenant_a.agent, tenant_b.agent.id, field="assignee_id", staff=True)


def _files(world, ticket):
    """A file on the ticket itself and one on an internal note."""
    loose = attachment_add(organization=world.org, actor=world.agent, ticket=ticket,
                           stream=io.BytesIO(b"public"), file_name="public.txt")  # fmt: skip
    note = services.comment_add(organization=world.org, actor=world.agent, ticket=ticket,
                                body="between us", kind="internal")  # fmt: skip
    secret = attachment_add(organization=world.org, actor=world.agent, ticket=ticket,
                            stream=io.BytesIO(b"secret"), file_name="secret.txt",
                            comment=note)  # fmt: skip
    return loose, secret


def test_an_attachment_is_one_the_caller_may_see(tenant_a, tenant_b, other_customer):
    loose, secret = _files(tenant_a, open_ticket(tenant_a))
    theirs, _ = _files(tenant_a, open_ticket(tenant_a, customer=other_customer))
    assert access_attachment(tenant_a.agent, secret.id) == secret
    assert access_attachment(tenant_a.customer, loose.id) == loose
    for user, attachment in ((tenant_a.customer, secret), (tenant_a.customer, theirs),
                             (tenant_b.agent, loose), (tenant_b.admin, secret)):  # fmt: skip
        assert refused(lambda u=user, a=attachment: access_attachment(u, a.id)) == (
            "no such attachment"
        )


def test_a_canned_response_is_shared_or_the_callers_own(tenant_a, tenant_b):
    shared = canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.manager,
                                           name="Hello", body="Hi")  # fmt: skip
    personal = canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.manager,
                                             name="Mine", body="Me", personal=True)  # fmt: skip
    assert access_canned_response(tenant_a.agent, shared.id) == shared
    assert access_canned_response(tenant_a.manager, personal.id) == personal
    for user, row in ((tenant_a.agent, personal), (tenant_b.admin, shared),
                      (tenant_b.manager, personal)):  # fmt: skip
        assert refused(lambda u=user, r=row: access_canned_response(u, r.id)) == (
            "no such canned response"
        )


# ------------------------------------------------------------------ both transports
def test_a_ticket_of_another_tenant_or_customer_is_a_404_on_both(
    tenant_a, tenant_b, other_customer
):
    open_ticket(tenant_a)
    theirs = open_ticket(tenant_a, customer=other_customer)  # A's #2; B has only #1
    open_ticket(tenant_b)
    n = theirs.number
    api_b, api_customer = ApiClient(tenant_b.agent), ApiClient(tenant_a.customer)
    web_b, web_customer = signed_in(tenant_b.agent), signed_in(tenant_a.customer)
    # The API: read, write, files
    for api in (api_b, api_customer):
        assert api.get(f"/tickets/{n}").status_code == 404
        assert api.post(f"/tickets/{n}/comments", {"body": "hi"}).status_code == 404
        assert api.post(f"/tickets/{n}/status", {"status": "closed"}).status_code == 404
        assert api.get(f"/tickets/{n}/attachments").status_code == 404
    # The pages: the agent's workspace and the customer's portal
    assert web_b.get(f"/desk/tickets/{n}/").status_code == 404
    assert web_b.post(f"/desk/tickets/{n}/status", {"status": "closed"}).status_code == 404
    assert web_b.post(f"/desk/tickets/{n}/reply", {"body": "hi"}).status_code == 404
    assert web_customer.get(f"/portal/tickets/{n}/").status_code == 404
    assert web_customer.post(f"/portal/tickets/{n}/reply", {"body": "hi"}).status_code == 404
    assert web_customer.post(f"/portal/tickets/{n}/close").status_code == 404
    # And nothing was written to A's ticket
    theirs.refresh_from_db()
    assert (theirs.status, theirs.comments.count()) == ("new", 0)


def test_an_attachment_out_of_reach_is_a_404_on_both(tenant_a, tenant_b, other_customer):
    loose, secret = _files(tenant_a, open_ticket(tenant_a))
    theirs, _ = _files(tenant_a, open_ticket(tenant_a, customer=other_customer))
    cases = [(tenant_b.agent, loose), (tenant_a.customer, theirs), (tenant_a.customer, secret)]
    for user, attachment in cases:
        api = ApiClient(user).get(f"/attachments/{attachment.id}/download")
        web = signed_in(user).get(f"/files/{attachment.id}/")
        assert (api.status_code, web.status_code) == (404, 404)
        assert api["Content-Type"] == "application/problem+json"
    # While A's own customer downloads their ticket's file on both
    api = ApiClient(tenant_a.customer).get(f"/attachments/{loose.id}/download")
    web = signed_in(tenant_a.customer).get(f"/files/{loose.id}/")
    assert b"".join(api.streaming_content) == b"".join(web.streaming_content) == b"public"
    assert api["Content-Disposition"] == web["Content-Disposition"]


def test_a_canned_response_out_of_reach_is_a_404_on_both(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    personal = canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.manager,
                                             name="Mine", body="Me", personal=True)  # fmt: skip
    b_shared = canned.canned_response_create(organization=tenant_b.org, actor=tenant_b.manager,
                                             name="B's", body="Theirs")  # fmt: skip
    for row in (personal, b_shared):
        api = ApiClient(tenant_a.agent).post(f"/canned-responses/{row.id}/render",
                                             {"ticket": ticket.number})  # fmt: skip
        web = signed_in(tenant_a.agent).get(f"/desk/tickets/{ticket.number}/canned",
                                            {"canned": row.id})  # fmt: skip
        assert (api.status_code, web.status_code) == (404, 404)
        patch = ApiClient(tenant_a.agent).patch(f"/canned-responses/{row.id}", {"name": "x"})
        assert patch.status_code == 404


def test_a_ticket_named_in_a_form_is_refused_naming_the_field_on_both(tenant_a, tenant_b):
    source = open_ticket(tenant_a)
    open_ticket(tenant_b)
    b_only = open_ticket(tenant_b)  # B's #2: A has no #2
    api = ApiClient(tenant_a.agent).post(f"/tickets/{source.number}/merge",
                                         {"into": b_only.number})  # fmt: skip
    assert api.status_code == 422
    assert api.json()["errors"][0]["field"] == "into"
    web = signed_in(tenant_a.agent)
    page = web.post(f"/desk/tickets/{source.number}/merge", {"into": f"#{b_only.number}"},
                    follow=True)  # fmt: skip
    assert f"into: No ticket #{b_only.number} here." in page.content.decode()
    shared = canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.manager,
                                           name="Hello", body="Hi")  # fmt: skip
    render = ApiClient(tenant_a.agent).post(f"/canned-responses/{shared.id}/render",
                                            {"ticket": b_only.number})  # fmt: skip
    assert (render.status_code, render.json()["errors"][0]["field"]) == (422, "ticket")
    source.refresh_from_db()
    assert source.merged_into_id is None
