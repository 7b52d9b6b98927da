"""Reads for the customer and company pages and the API; each with its query budget.

Lists are keyset pages (tickets.selectors.Page and its cursors): a fixed number of
queries whatever the page size, no OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core.errors import NotFound
from deskbase.core.tenancy import tenant
from deskbase.customers.models import Company, CompanyDomain, CompanyMember
from deskbase.organizations.models import Organization
from deskbase.tickets.models import CsatResponse, Ticket
from deskbase.tickets.permissions import ensure_staff
from deskbase.tickets.selectors import _decode, _encode

MAX_PAGE = 100


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))


def _with_domains(companies: QuerySet[Company]) -> QuerySet[Company]:
    from django.db.models import Prefetch

    return companies.prefetch_related(
        Prefetch("domains", queryset=CompanyDomain.objects.order_by("domain"),
                 to_attr="domain_rows")
    ).annotate(
        people=Subquery(
            CompanyMember.objects.filter(company=OuterRef("pk"))
            .values("company").annotate(n=Count("id")).values("n")
        )
    )  # fmt: skip


def company_list(
    *, organization: Organization, actor: User, q: str = "", after: str | None = None,
    limit: int = 25,
) -> Page:  # fmt: skip
    """Companies by name, with their domains and head count. Budget: 2 queries."""
    ensure_staff(actor, gettext("see companies"))
    limit = _limit(limit)
    rows = Company.objects.filter(organization=organization).annotate(lname=Lower("name"))
    if q.strip():
        rows = rows.filter(name__icontains=q.strip())  # a tenant's companies: a few thousand
    if after:
        name, pk = _decode(after, 2)
        rows = rows.filter(Q(lname__gt=name) | Q(lname=name, id__gt=pk))
    with tenant(organization, actor, savepoint=False):
        found = list(_with_domains(rows.order_by("lname", "id"))[: limit + 1])
    more = len(found) > limit
    items = found[:limit]
    last: Any = items[-1] if items else None  # annotated with lname
    cursor = _encode([last.lname, last.id]) if more else None
    return Page(items, cursor)


def company_get(*, organization: Organization, actor: User, company_id: int) -> Company:
    """One company with its domains and head count. Budget: 2 queries."""
    ensure_staff(actor, gettext("see companies"))
    with tenant(organization, actor, savepoint=False):
        company = _with_domains(Company.objects.filter(organization=organization,
                                                       pk=company_id)).first()  # fmt: skip
    if company is None:
        raise NotFound(
            gettext("no company %(company_id)s") % {"company_id": company_id}, field="company_id"
        )
    return company


def company_people(
    *, organization: Organization, actor: User, company: Company, after: str | None = None,
    limit: int = 25,
) -> Page:  # fmt: skip
    """The company's people by e-mail address. Budget: 1 query."""
    ensure_staff(actor, gettext("see companies"))
    limit = _limit(limit)
    rows = User.objects.filter(
        organization=organization,
        pk__in=CompanyMember.objects.filter(company=company).values("user_id"),
    )
    if after:
        (email,) = _decode(after, 1)
        rows = rows.filter(email__gt=email)
    with tenant(organization, actor, savepoint=False):
        found = list(rows.order_by("email")[: limit + 1])
    items = found[:limit]
    return Page(items, _encode([items[-1].email]) if len(found) > limit else None)


def _ticket_page(
    organization: Organization, actor: User, rows: QuerySet[Ticket], after: str | None, limit: int
) -> Page:
    limit = _limit(limit)
    if after:
        created, pk = _decode(after, 2)
        rows = rows.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk))
    with tenant(organization, actor, savepoint=False):
        found = list(rows.select_related("assignee").order_by("-created_at", "-id")[: limit + 1])
    items = found[:limit]
    cursor = None
    if len(found) > limit:
        cursor = _encode([items[-1].created_at.isoformat(), items[-1].id])
    return Page(items, cursor)


def company_tickets(
    *, organization: Organization, actor: User, company: Company, after: str | None = None,
    limit: int = 25,
) -> Page:  # fmt: skip
    """Tickets of the company's people, newest first. Budget: 1 query."""
    ensure_staff(actor, gettext("see companies"))
    members = CompanyMember.objects.filter(company=company).values("user_id")
    rows = Ticket.objects.filter(organization=organization, customer_id__in=members)
    return _ticket_page(organization, actor, rows.select_related("customer"), after, limit)


@dataclass(frozen=True)
class CustomerCard:
    customer: User
    company: Company | None


def customer_get(*, organization: Organization, actor: User, user_id: int) -> CustomerCard:
    """A customer with their company. Budget: 2 queries."""
    ensure_staff(actor, gettext("see customers"))
    # Raised outside the block: an error inside one without a savepoint would leave the
    # request's transaction unusable for the error page.
    with tenant(organization, actor, savepoint=False):
        customer = User.objects.filter(organization=organization, pk=user_id,
                                       role=Role.CUSTOMER).first()  # fmt: skip
        company = None
        if customer is not None:
            company = Company.objects.filter(organization=organization,
                                             members__user=customer).first()  # fmt: skip
    if customer is None:
        raise NotFound(gettext("no customer %(user_id)s") % {"user_id": user_id}, field="user_id")
    return CustomerCard(customer, company)


def customer_tickets(
    *, organization: Organization, actor: User, customer: User, after: str | None = None,
    limit: int = 25,
) -> Page:  # fmt: skip
    """Every ticket of the customer, newest first. Budget: 1 query (index
    tickets_by_customer)."""
    ensure_staff(actor, gettext("see customers"))
    rows = Ticket.objects.filter(organization=organization, customer=customer)
    return _ticket_page(organization, actor, rows, after, limit)


def customer_csat(
    *, organization: Organization, actor: User, customer: User, limit: int = 20
) -> list[CsatResponse]:
    """The customer's latest satisfaction ratings, with their tickets. Budget: 1 query."""
    ensure_staff(actor, gettext("see customers"))
    with tenant(organization, actor, savepoint=False):
        return list(
            CsatResponse.objects.filter(organization=organization, customer=customer)
            .select_related("ticket").order_by("-created_at", "-id")[: _limit(limit)]
        )  # fmt: skip


def recent_tickets(
    *, organization: Organization, actor: User, ticket: Ticket, limit: int = 5
) -> list[Ticket]:
    """The requester's other latest tickets, for the ticket page. Budget: 1 query."""
    ensure_staff(actor, gettext("see customers"))
    with tenant(organization, actor, savepoint=False):
        return list(
            Ticket.objects.filter(organization=organization, customer_id=ticket.customer_id)
            .exclude(pk=ticket.pk).order_by("-created_at", "-id")[:limit]
        )  # fmt: skip


def company_of(*, organization: Organization, actor: User, user_id: int) -> Company | None:
    """A customer's company. Budget: 1 query."""
    with tenant(organization, actor, savepoint=False):
        return Company.objects.filter(organization=organization, members__user_id=user_id).first()
