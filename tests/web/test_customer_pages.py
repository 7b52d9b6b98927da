"""Customer and company pages, and the ticket page's requester, links and time."""

from __future__ import annotations

import pytest

from deskbase.accounts import services as people
from deskbase.core.tenancy import tenant
from deskbase.customers import services as companies
from deskbase.tickets import links, services, timeentries
from deskbase.tickets.models import Ticket, TicketLink, TimeEntry
from tests.tickets.factories import open_ticket
from tests.web.helpers import assert_staff_only, queries_of, signed_in

pytestmark = pytest.mark.django_db


def _company(world, **fields):
    fields.setdefault("name", "Initech")
    fields.setdefault("domains", ["initech.com"])
    return companies.company_create(organization=world.org, actor=world.admin, **fields)


def _customer(world, email):
    return people.user_create(organization=world.org, actor=None, email=email, role="customer",
                              full_name=email.split("@")[0].title())  # fmt: skip


def _resolved_and_rated(world, customer, rating):
    ticket = open_ticket(world, customer=customer, subject=f"Rated {rating}")
    services.ticket_change_status(organization=world.org, actor=world.agent, ticket=ticket,
                                  status="resolved")  # fmt: skip
    services.csat_record(organization=world.org, actor=customer, ticket=ticket, rating=rating)
    return ticket


# ------------------------------------------------------------------ what the pages show
def test_customer_page_shows_contact_company_tickets_and_ratings(tenant_a, tenant_b):
    company = _company(tenant_a)
    peter = _customer(tenant_a, "peter@initech.com")
    open_ticket(tenant_a, customer=peter, subject="Stapler gone")
    _resolved_and_rated(tenant_a, peter, 2)
    page = signed_in(tenant_a.agent).get(f"/desk/customers/{peter.id}/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("peter@initech.com", company.name, "Stapler gone", "rated 2/5"):
        assert text in html
    # another tenant's customer, and a member of staff, are not customers here
    theirs = _customer(tenant_b, "bill@globex.test")
    assert signed_in(tenant_a.agent).get(f"/desk/customers/{theirs.id}/").status_code == 404
    assert signed_in(tenant_a.agent).get(f"/desk/customers/{tenant_a.admin.id}/").status_code == 404
    assert_staff_only(tenant_a, f"/desk/customers/{peter.id}/")


def test_company_page_shows_its_people_and_tickets(tenant_a, tenant_b):
    company = _company(tenant_a)
    peter = _customer(tenant_a, "peter@initech.com")
    open_ticket(tenant_a, customer=peter, subject="TPS report")
    open_ticket(tenant_a, subject="Not theirs")
    html = signed_in(tenant_a.agent).get(f"/desk/companies/{company.id}/").content.decode()
    assert "peter@initech.com" in html
    assert "TPS report" in html
    assert "Not theirs" not in html
    theirs = _company(tenant_b, name="Globex Corp")
    assert signed_in(tenant_a.agent).get(f"/desk/companies/{theirs.id}/").status_code == 404
    assert_staff_only(tenant_a, f"/desk/companies/{company.id}/")


def test_agents_view_companies_but_only_managers_create_them(tenant_a):
    form = {"name": "Initrode", "domains": "initrode.com", "tier": "premium"}
    assert signed_in(tenant_a.agent).post("/desk/companies/", form).status_code == 403
    response = signed_in(tenant_a.manager).post("/desk/companies/", form)
    assert response.status_code == 302
    listing = signed_in(tenant_a.agent).get("/desk/companies/").content.decode()
    assert "Initrode" in listing
    assert "initrode.com" in listing


def test_a_public_mail_domain_is_refused_with_a_message(tenant_a):
    client = signed_in(tenant_a.manager)
    response = client.post("/desk/companies/", {"name": "Mailers", "domains": "gmail.com"},
                           follow=True)  # fmt: skip
    assert "public mail provider" in response.content.decode()
    assert "Mailers" not in client.get("/desk/companies/").content.decode()


def test_ticket_page_shows_requester_links_and_time(tenant_a):
    _company(tenant_a)
    peter = _customer(tenant_a, "peter@initech.com")
    older = open_ticket(tenant_a, customer=peter, subject="Older one")
    ticket = open_ticket(tenant_a, customer=peter, subject="Current")
    links.link_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket, other=older,
                   relation="parent")  # fmt: skip
    timeentries.time_entry_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                               minutes=25, note="Phoned")  # fmt: skip
    timeentries.time_entry_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                               minutes=5, billable=False)  # fmt: skip
    html = signed_in(tenant_a.agent).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Initech" in html
    assert f"#{older.number} Older one" in html
    assert "Child of" in html
    assert f"linked this ticket: child of #{older.number}" in html  # the timeline says so
    assert "<strong>30</strong> min logged, 25 billable" in html
    # and the other ticket shows the link from its side
    other = signed_in(tenant_a.agent).get(f"/desk/tickets/{older.number}/").content.decode()
    assert "Parent of" in other


# ------------------------------------------------------------------ the forms
def test_linking_another_tenants_ticket_from_the_page_is_refused(tenant_a, tenant_b):
    mine = open_ticket(tenant_a)
    for _ in range(3):
        open_ticket(tenant_b)
    theirs = open_ticket(tenant_b)  # a number tenant A does not have
    response = signed_in(tenant_a.agent).post(
        f"/desk/tickets/{mine.number}/links", {"other": theirs.number, "relation": "related"},
        follow=True,
    )  # fmt: skip
    assert f"No ticket #{theirs.number} here" in response.content.decode()
    with tenant(tenant_a.org):
        assert not TicketLink.objects.filter(organization=tenant_a.org).exists()


def test_splitting_a_comment_from_the_page_opens_the_new_ticket(tenant_a):
    ticket = open_ticket(tenant_a, subject="Two problems")
    comment = services.comment_add(organization=tenant_a.org, actor=tenant_a.customer,
                                   ticket=ticket, body="And the fax is broken.")  # fmt: skip
    response = signed_in(tenant_a.agent).post(
        f"/desk/tickets/{ticket.number}/comments/{comment.id}/split", {"subject": "Fax"}
    )
    with tenant(tenant_a.org):
        new = Ticket.objects.get(organization=tenant_a.org, subject="Fax")
    assert response["Location"] == f"/desk/tickets/{new.number}/"


def test_logging_time_from_the_page_and_deleting_it(tenant_a):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    client.post(f"/desk/tickets/{ticket.number}/time", {"minutes": "40", "billable": "on"})
    bad = client.post(f"/desk/tickets/{ticket.number}/time", {"minutes": "0"}, follow=True)
    assert "Minutes are between 1 and 1440" in bad.content.decode()
    with tenant(tenant_a.org):
        entry = TimeEntry.objects.get(organization=tenant_a.org)
    assert (entry.minutes, entry.billable, entry.user_id) == (40, True, tenant_a.agent.id)
    client.post(f"/desk/tickets/{ticket.number}/time/{entry.id}/delete")
    with tenant(tenant_a.org):
        assert not TimeEntry.objects.filter(organization=tenant_a.org).exists()


# ------------------------------------------------------------------ query counts
def _grow(make, url_of, client, n_large=50):
    make(0)
    queries_of(client, url_of())  # caches (the roster, categories) warm, as for the second
    small = queries_of(client, url_of())
    for i in range(1, n_large):
        make(i)
    return small, queries_of(client, url_of())


def test_customer_page_has_a_fixed_query_count(tenant_a):
    company = _company(tenant_a)
    peter = _customer(tenant_a, "peter@initech.com")

    def make(i: int) -> None:
        open_ticket(tenant_a, customer=peter, subject=f"Open {i}")
        _resolved_and_rated(tenant_a, peter, 1 + i % 5)

    small, large = _grow(make, lambda: f"/desk/customers/{peter.id}/",
                         signed_in(tenant_a.manager))  # fmt: skip
    assert small == large
    assert company.name  # the page showed a company throughout


def test_company_pages_have_a_fixed_query_count(tenant_a):
    company = _company(tenant_a)

    def make(i: int) -> None:
        person = _customer(tenant_a, f"p{i}@initech.com")
        open_ticket(tenant_a, customer=person, subject=f"T{i}")
        _company(tenant_a, name=f"Other {i}", domains=[f"other{i}.com"])

    client = signed_in(tenant_a.manager)
    make(0)
    queries_of(client, "/desk/companies/")  # caches warm, as for the second
    small = [queries_of(client, u) for u in (f"/desk/companies/{company.id}/", "/desk/companies/")]
    for i in range(1, 50):
        make(i)
    large = [queries_of(client, u) for u in (f"/desk/companies/{company.id}/", "/desk/companies/")]
    assert small == large


def test_ticket_page_with_links_time_and_recent_tickets_has_a_fixed_query_count(tenant_a):
    ticket = open_ticket(tenant_a, subject="Main")

    def make(i: int) -> None:
        other = open_ticket(tenant_a, subject=f"Other {i}")
        links.link_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                       other=other, relation=("related", "child")[i % 2])  # fmt: skip
        timeentries.time_entry_add(organization=tenant_a.org, actor=tenant_a.agent,
                                   ticket=ticket, minutes=10)  # fmt: skip

    small, large = _grow(make, lambda: f"/desk/tickets/{ticket.number}/",
                         signed_in(tenant_a.agent))  # fmt: skip
    assert small == large


def test_time_report_page_has_a_fixed_query_count(tenant_a):
    _company(tenant_a)

    def make(i: int) -> None:
        person = _customer(tenant_a, f"p{i}@initech.com")
        timeentries.time_entry_add(organization=tenant_a.org, actor=tenant_a.agent,
                                   ticket=open_ticket(tenant_a, customer=person),
                                   minutes=5)  # fmt: skip

    small, large = _grow(make, lambda: "/desk/reports/time/", signed_in(tenant_a.manager))
    assert small == large
    assert signed_in(tenant_a.agent).get("/desk/reports/time/").status_code == 403
