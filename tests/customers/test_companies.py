"""Companies: names and domains per organization, new customers filed by domain, tiers."""

from __future__ import annotations

import pytest

from deskbase.accounts import services as people
from deskbase.accounts.models import User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.customers import selectors, services
from deskbase.customers.models import Company, CompanyDomain, CompanyMember
from deskbase.sla import policies
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def _company(world, name="Initech", **fields):
    return services.company_create(organization=world.org, actor=world.manager, name=name,
                                   **fields)  # fmt: skip


def _customer(world, email, **fields):
    return people.user_create(organization=world.org, actor=None, email=email, role="customer",
                              **fields)  # fmt: skip


def _company_of(world, user):
    return selectors.company_of(organization=world.org, actor=world.admin, user_id=user.id)


def test_domains_are_normalized_and_unique_per_organization(tenant_a, tenant_b):
    # given a company with domains written any which way
    company = _company(tenant_a, domains=[" Initech.COM ", "@initech.de", "initech.com"])
    # then they are stored lower-case, once each
    with tenant(tenant_a.org):
        rows = CompanyDomain.objects.filter(company=company)
        stored = sorted(rows.values_list("domain", flat=True))
    assert stored == ["initech.com", "initech.de"]
    # when another company of the same organization claims one, it is refused on `domains`
    with pytest.raises(ValidationFailed) as error:
        _company(tenant_a, name="Initrode", domains=["INITECH.com"])
    assert error.value.field == "domains"
    # but another organization may have a company with that domain
    assert _company(tenant_b, domains=["initech.com"]).organization_id == tenant_b.org.id


@pytest.mark.parametrize("domain", ["gmail.com", "not a domain", "localhost", "a@b.com"])
def test_public_or_malformed_domains_are_refused(tenant_a, domain):
    with pytest.raises(ValidationFailed) as error:
        _company(tenant_a, domains=[domain])
    assert error.value.field == "domains"
    with tenant(tenant_a.org):
        assert not Company.objects.exists()


def test_names_are_unique_per_organization_ignoring_case(tenant_a, tenant_b):
    _company(tenant_a, name="Initech")
    with pytest.raises(ValidationFailed) as error:
        _company(tenant_a, name="INITECH")
    assert error.value.field == "name"
    assert _company(tenant_b, name="initech").name == "initech"


def test_a_new_customer_at_a_company_domain_joins_it_and_takes_its_tier(tenant_a, tenant_b):
    # given a premium company with a domain, in tenant A only
    company = _company(tenant_a, tier="premium", domains=["initech.com"])
    # when customers are created (mail, API, portal: all through user_create)
    peter = _customer(tenant_a, "Peter@Initech.com")
    other = _customer(tenant_a, "someone@elsewhere.com")
    foreign = _customer(tenant_b, "bill@initech.com")
    # then the one at the domain is filed under the company with its tier
    assert _company_of(tenant_a, peter) == company
    with tenant(tenant_a.org):
        assert User.objects.get(pk=peter.pk).customer_tier == "premium"
    assert _company_of(tenant_a, other) is None
    # and another tenant's customer at the same domain is not
    with tenant(tenant_b.org):
        assert not CompanyMember.objects.filter(user=foreign).exists()


def test_a_new_tier_recomputes_the_sla_of_the_peoples_open_tickets(tenant_a):
    # given an enterprise policy and a customer of a basic company with an open ticket
    policies.sla_policy_create(
        organization=tenant_a.org, actor=tenant_a.manager, name="Enterprise medium",
        priority="medium", customer_tier="enterprise", first_response_minutes=30,
        resolution_minutes=120,
    )  # fmt: skip
    company = _company(tenant_a, domains=["initech.com"])
    peter = _customer(tenant_a, "peter@initech.com")
    ticket = open_ticket(tenant_a, customer=peter)
    assert ticket.sla_policy_id is None
    # when the company becomes enterprise
    services.company_update(organization=tenant_a.org, actor=tenant_a.manager,
                            company_id=company.pk, tier="enterprise")  # fmt: skip
    # then its customer is enterprise and the open ticket runs under the enterprise policy
    with tenant(tenant_a.org):
        assert User.objects.get(pk=peter.pk).customer_tier == "enterprise"
        ticket.refresh_from_db()
    assert ticket.sla_policy is not None
    assert ticket.sla_policy.name == "Enterprise medium"


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_only_admins_and_managers_manage_companies(tenant_a, role):
    company = _company(tenant_a)
    actor = getattr(tenant_a, role)
    with pytest.raises(PermissionDenied):
        services.company_create(organization=tenant_a.org, actor=actor, name="Other")
    with pytest.raises(PermissionDenied):
        services.company_update(organization=tenant_a.org, actor=actor, company_id=company.pk,
                                name="Renamed")  # fmt: skip
    with tenant(tenant_a.org):
        assert list(Company.objects.values_list("name", flat=True)) == ["Initech"]


def test_setting_a_company_from_another_tenant_is_refused(tenant_a, tenant_b):
    theirs = _company(tenant_b)
    with pytest.raises(ValidationFailed) as error:
        services.customer_set_company(organization=tenant_a.org, actor=tenant_a.manager,
                                      customer=tenant_a.customer, company_id=theirs.pk)  # fmt: skip
    assert error.value.field == "company_id"
    with tenant(tenant_a.org):
        assert not CompanyMember.objects.exists()


def test_company_tickets_page_through_every_ticket_of_its_people(tenant_a, tenant_b):
    company = _company(tenant_a, domains=["initech.com"])
    peter, milton = _customer(tenant_a, "peter@initech.com"), _customer(tenant_a, "m@initech.com")
    made = [open_ticket(tenant_a, customer=c, subject=f"T{i}")
            for i, c in enumerate([peter, milton, peter, tenant_a.customer, milton])]  # fmt: skip
    open_ticket(tenant_b)
    seen, cursor = [], None
    while True:
        page = selectors.company_tickets(organization=tenant_a.org, actor=tenant_a.agent,
                                         company=company, after=cursor, limit=2)  # fmt: skip
        seen += [t.subject for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [t.subject for t in reversed(made) if t.customer_id != tenant_a.customer.id]
