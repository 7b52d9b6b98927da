"""/api/v1/companies and /api/v1/customers: companies, their people and tickets.

Staff read; admins and managers manage companies and who belongs to them.
Customers get a 403; another tenant's company or customer is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.core.errors import ValidationFailed
from deskbase.customers import selectors, services
from deskbase.customers.models import Company
from deskbase.tickets.access import caller_organization

router = Router(tags=["customers"])
TierName = Literal["basic", "premium", "enterprise"]


class CompanyOut(Schema):
    id: int
    name: str
    tier: str
    notes: str
    domains: list[str]
    people: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_domains(obj: Company) -> list[str]:
        rows = getattr(obj, "domain_rows", None)
        if rows is not None:
            return [d.domain for d in rows]
        return list(getattr(obj, "domain_names", []))

    @staticmethod
    def resolve_people(obj: Company) -> int:
        return getattr(obj, "people", None) or 0


class CompanyPage(Schema):
    items: list[CompanyOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class CompanyIn(Strict):
    name: str = Field(..., min_length=1, max_length=200)
    tier: TierName = "basic"
    notes: str = Field("", max_length=10_000)
    domains: list[str] = Field(default_factory=list, max_length=50)


class CompanyPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    tier: TierName | None = None
    notes: str | None = Field(None, max_length=10_000)
    domains: list[str] | None = Field(None, max_length=50)


class ListPageQuery(Schema):
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(25, ge=1, le=100)


class CompanyQuery(ListPageQuery):
    q: str = Field("", max_length=200, description="part of the name")


class CompanyPersonOut(Schema):
    id: int
    email: str
    full_name: str
    customer_tier: str
    is_active: bool


class PersonPage(Schema):
    items: list[CompanyPersonOut]
    next_cursor: str | None


class TicketBrief(Schema):
    number: int
    subject: str
    status: str
    priority: str
    customer_id: int
    created_at: datetime
    updated_at: datetime


class TicketBriefPage(Schema):
    items: list[TicketBrief]
    next_cursor: str | None


class CompanyRef(Schema):
    id: int
    name: str
    tier: str


class CustomerCsatOut(Schema):
    ticket_number: int
    rating: int
    comment: str
    created_at: datetime

    @staticmethod
    def resolve_ticket_number(obj) -> int:
        return obj.ticket.number


class CustomerOut(Schema):
    id: int
    email: str
    full_name: str
    customer_tier: str
    is_active: bool
    date_joined: datetime
    company: CompanyRef | None
    csat: list[CustomerCsatOut]


class MembershipIn(Strict):
    company_id: int | None = Field(..., description="null: no company")


def _org(request: ApiRequest):
    return caller_organization(request.auth)


@router.get("/companies", response={200: CompanyPage, **ERRORS})
def list_companies(request: ApiRequest, query: Query[CompanyQuery]):
    """Companies by name, a keyset page at a time."""
    page = selectors.company_list(organization=_org(request), actor=request.auth, q=query.q,
                                  after=query.cursor, limit=query.limit)  # fmt: skip
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/companies", response={201: CompanyOut, **ERRORS})
def create_company(request: ApiRequest, payload: CompanyIn):
    company = services.company_create(organization=_org(request), actor=request.auth,
                                      **payload.dict())  # fmt: skip
    return Status(201, selectors.company_get(organization=_org(request), actor=request.auth,
                                             company_id=company.pk))  # fmt: skip


@router.get("/companies/{company_id}", response={200: CompanyOut, **ERRORS})
def get_company(request: ApiRequest, company_id: int):
    return selectors.company_get(organization=_org(request), actor=request.auth,
                                 company_id=company_id)  # fmt: skip


@router.patch("/companies/{company_id}", response={200: CompanyOut, **ERRORS})
def update_company(request: ApiRequest, company_id: int, payload: CompanyPatch):
    changes = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    services.company_update(organization=_org(request), actor=request.auth,
                            company_id=company_id, **changes)  # fmt: skip
    return selectors.company_get(organization=_org(request), actor=request.auth,
                                 company_id=company_id)  # fmt: skip


@router.delete("/companies/{company_id}", response={204: None, **ERRORS})
def delete_company(request: ApiRequest, company_id: int):
    """Delete a company; its people stay, with no company."""
    services.company_delete(organization=_org(request), actor=request.auth, company_id=company_id)
    return Status(204, None)


@router.get("/companies/{company_id}/people", response={200: PersonPage, **ERRORS})
def company_people(request: ApiRequest, company_id: int, query: Query[ListPageQuery]):
    company = selectors.company_get(organization=_org(request), actor=request.auth,
                                    company_id=company_id)  # fmt: skip
    page = selectors.company_people(organization=_org(request), actor=request.auth,
                                    company=company, after=query.cursor,
                                    limit=query.limit)  # fmt: skip
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/companies/{company_id}/tickets", response={200: TicketBriefPage, **ERRORS})
def company_tickets(request: ApiRequest, company_id: int, query: Query[ListPageQuery]):
    """The tickets of the company's people, newest first."""
    company = selectors.company_get(organization=_org(request), actor=request.auth,
                                    company_id=company_id)  # fmt: skip
    page = selectors.company_tickets(organization=_org(request), actor=request.auth,
                                     company=company, after=query.cursor,
                                     limit=query.limit)  # fmt: skip
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/customers/{user_id}", response={200: CustomerOut, **ERRORS})
def get_customer(request: ApiRequest, user_id: int):
    """A customer's contact data, company and latest satisfaction ratings."""
    card = selectors.customer_get(organization=_org(request), actor=request.auth, user_id=user_id)
    csat = selectors.customer_csat(organization=_org(request), actor=request.auth,
                                   customer=card.customer)  # fmt: skip
    person = card.customer
    return {
        "id": person.id, "email": person.email, "full_name": person.full_name,
        "customer_tier": person.customer_tier, "is_active": person.is_active,
        "date_joined": person.date_joined, "company": card.company, "csat": csat,
    }  # fmt: skip


@router.get("/customers/{user_id}/tickets", response={200: TicketBriefPage, **ERRORS})
def customer_tickets(request: ApiRequest, user_id: int, query: Query[ListPageQuery]):
    """Every ticket of the customer, newest first."""
    card = selectors.customer_get(organization=_org(request), actor=request.auth, user_id=user_id)
    page = selectors.customer_tickets(organization=_org(request), actor=request.auth,
                                      customer=card.customer, after=query.cursor,
                                      limit=query.limit)  # fmt: skip
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.put("/customers/{user_id}/company", response={200: CustomerOut, **ERRORS})
def set_customer_company(request: ApiRequest, user_id: int, payload: MembershipIn):
    """File the customer under a company (null: none); they take its tier."""
    card = selectors.customer_get(organization=_org(request), actor=request.auth, user_id=user_id)
    services.customer_set_company(
        organization=_org(request), actor=request.auth, customer=card.customer,
        company_id=payload.company_id,
    )  # fmt: skip
    return get_customer(request, user_id)
