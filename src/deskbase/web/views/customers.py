"""Customer and company pages, and the ticket page's links, split and time forms.

Staff see them; admins and managers create and change companies. Each page reads
through the selectors (a fixed number of queries whatever the number of rows).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from deskbase.accounts.models import CustomerTier, Role, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.analytics.timereport import GROUPS, time_report
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.customers import selectors, services
from deskbase.tickets import customfields, links, timeentries
from deskbase.tickets.access import access_ticket_reference, caller_organization
from deskbase.tickets.models import Ticket
from deskbase.web.views.common import domain_errors, manager_required, staff_required
from deskbase.web.views.tickets import Attempted, Done, ticket_action, ticket_url

MANAGERS = (Role.ADMIN, Role.MANAGER)


def ticket_work(user: User, ticket: Ticket) -> dict[str, Any]:
    """What the ticket page shows of the requester, links and time: 4 queries."""
    organization = caller_organization(user)
    return {
        "links": links.ticket_links(organization=organization, actor=user, ticket=ticket),
        "time": timeentries.ticket_time(organization=organization, actor=user, ticket=ticket),
        "recent": selectors.recent_tickets(organization=organization, actor=user, ticket=ticket),
        "requester_company": selectors.company_of(
            organization=organization, actor=user, user_id=ticket.customer_id
        ),
        "today": timezone.localdate(),
    }


def _domains(raw: str) -> list[str]:
    return [d for d in raw.replace(",", " ").split() if d]


# ------------------------------------------------------------------ companies
@staff_required
@require_http_methods(["GET", "POST"])
@domain_errors
def company_list(request: AuthedRequest) -> HttpResponse:
    user, organization = request.user, caller_organization(request.user)
    if request.method == "POST":
        if user.role not in MANAGERS:
            raise PermissionDenied(gettext("only admins and managers may manage companies"))
        post = request.POST
        company = services.company_create(
            organization=organization, actor=user, name=post.get("name", ""),
            tier=post.get("tier", "basic"), notes=post.get("notes", ""),
            domains=_domains(post.get("domains", "")),
        )  # fmt: skip
        messages.success(request, gettext("Company %(name)s created.") % {"name": company.name})
        return redirect("web:company", company_id=company.pk)
    page = selectors.company_list(organization=organization, actor=user,
                                  q=request.GET.get("q", "")[:200],
                                  after=request.GET.get("after") or None)  # fmt: skip
    return render(request, "web/desk/companies.html", {
        "companies": page.items, "next_cursor": page.next_cursor, "q": request.GET.get("q", ""),
        "tiers": CustomerTier.choices, "may_manage": user.role in MANAGERS,
    })  # fmt: skip


@staff_required
@require_GET
@domain_errors
def company_page(request: AuthedRequest, company_id: int) -> HttpResponse:
    """A company, its people and its tickets (each a keyset page)."""
    user, organization = request.user, caller_organization(request.user)
    company = selectors.company_get(organization=organization, actor=user, company_id=company_id)
    people = selectors.company_people(organization=organization, actor=user, company=company,
                                      after=request.GET.get("people_after") or None)  # fmt: skip
    tickets = selectors.company_tickets(organization=organization, actor=user, company=company,
                                        after=request.GET.get("after") or None)  # fmt: skip
    definitions = customfields.custom_fields_for(organization=organization, actor=user,
                                                 applies_to="company")  # fmt: skip
    values = company.custom_fields or {}
    return render(request, "web/desk/company.html", {
        "company": company, "people": people, "tickets": tickets,
        "company_fields": [(f, values.get(f.key)) for f in definitions],
        "domains": " ".join(d.domain for d in getattr(company, "domain_rows", [])),
        "tiers": CustomerTier.choices, "may_manage": user.role in MANAGERS,
    })  # fmt: skip


@manager_required
@require_POST
@domain_errors
def company_edit(request: AuthedRequest, company_id: int) -> HttpResponse:
    post = request.POST
    services.company_update(
        organization=caller_organization(request.user), actor=request.user,
        company_id=company_id, name=post.get("name", ""), tier=post.get("tier", "basic"),
        notes=post.get("notes", ""), domains=_domains(post.get("domains", "")),
    )  # fmt: skip
    messages.success(request, gettext("Company saved."))
    return redirect("web:company", company_id=company_id)


@manager_required
@require_POST
@domain_errors
def company_fields(request: AuthedRequest, company_id: int) -> HttpResponse:
    """The company's custom fields, typed as the organization defines them."""
    user, organization = request.user, caller_organization(request.user)
    company = selectors.company_get(organization=organization, actor=user, company_id=company_id)
    definitions = customfields.custom_fields_for(organization=organization, actor=user,
                                                 applies_to="company")  # fmt: skip
    updates = {}
    for field in definitions:
        value = customfields.parse_form_value(field, request.POST.get(f"cf_{field.key}"))
        updates[field.key] = None if value is False else value
    merged = customfields.merged_values(company.custom_fields or {}, updates)
    services.company_update(organization=organization, actor=user, company_id=company_id,
                            custom_fields=merged)  # fmt: skip
    messages.success(request, gettext("Company fields saved."))
    return redirect("web:company", company_id=company_id)


@manager_required
@require_POST
@domain_errors
def company_delete(request: AuthedRequest, company_id: int) -> HttpResponse:
    services.company_delete(organization=caller_organization(request.user), actor=request.user,
                            company_id=company_id)  # fmt: skip
    messages.success(request, gettext("Company deleted; its people stay, without a company."))
    return redirect("web:companies")


# ------------------------------------------------------------------ customers
@staff_required
@require_GET
@domain_errors
def customer_page(request: AuthedRequest, user_id: int) -> HttpResponse:
    """Contact data, company, every ticket (paged) and satisfaction ratings."""
    user, organization = request.user, caller_organization(request.user)
    card = selectors.customer_get(organization=organization, actor=user, user_id=user_id)
    tickets = selectors.customer_tickets(organization=organization, actor=user,
                                         customer=card.customer,
                                         after=request.GET.get("after") or None)  # fmt: skip
    csat = selectors.customer_csat(organization=organization, actor=user, customer=card.customer)
    companies = []
    if user.role in MANAGERS:
        companies = selectors.company_list(organization=organization, actor=user,
                                           limit=100).items  # fmt: skip
    return render(request, "web/desk/customer.html", {
        "customer": card.customer, "company": card.company, "tickets": tickets, "csat": csat,
        "companies": companies, "may_manage": user.role in MANAGERS,
    })  # fmt: skip


@manager_required
@require_POST
@domain_errors
def customer_company(request: AuthedRequest, user_id: int) -> HttpResponse:
    user, organization = request.user, caller_organization(request.user)
    card = selectors.customer_get(organization=organization, actor=user, user_id=user_id)
    raw = request.POST.get("company", "")
    if raw and not raw.isdigit():
        raise ValidationFailed.one("company", gettext("Choose a company."))
    services.customer_set_company(
        organization=organization,
        actor=user,
        customer=card.customer,
        company_id=int(raw) if raw else None,
    )
    messages.success(request, gettext("Company saved."))
    return redirect("web:customer", user_id=user_id)


# ------------------------------------------------------------------ ticket links, split, time
@staff_required
@require_POST
@domain_errors
def ticket_link_add(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        other = access_ticket_reference(user, request.POST.get("other", ""), field="other")
        links.link_add(organization=caller_organization(user), actor=user, ticket=ticket,
                       other=other, relation=request.POST.get("relation", ""))  # fmt: skip
        return Done(gettext("Linked to #%(number)s.") % {"number": other.number})

    return ticket_action(request, number, act)


@staff_required
@require_POST
@domain_errors
def ticket_link_remove(request: AuthedRequest, number: int, link_id: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        links.link_remove(organization=caller_organization(user), actor=user, ticket=ticket,
                          link_id=link_id)  # fmt: skip
        return Done(gettext("Link removed."))

    return ticket_action(request, number, act)


@staff_required
@require_POST
@domain_errors
def ticket_split(request: AuthedRequest, number: int, comment_id: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        new = links.ticket_split(organization=caller_organization(user), actor=user,
                                 ticket=ticket, comment_id=comment_id,
                                 subject=request.POST.get("subject", "")[:300])  # fmt: skip
        return Done(
            gettext("Split off into ticket #%(number)s.") % {"number": new.number},
            to=ticket_url(new),
        )

    return ticket_action(request, number, act)


def _day(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.one("worked_on", gettext("Give the day as YYYY-MM-DD.")) from None


@staff_required
@require_POST
@domain_errors
def ticket_time_add(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        post = request.POST
        raw = post.get("minutes", "").strip()
        if not raw.isdigit():
            raise ValidationFailed.one("minutes", gettext("Minutes are a whole number."))
        timeentries.time_entry_add(
            organization=caller_organization(user), actor=user, ticket=ticket,
            minutes=int(raw[:6]), note=post.get("note", "")[:500],
            billable=post.get("billable") == "on", worked_on=_day(post.get("worked_on", "")),
        )  # fmt: skip
        return Done(gettext("%(minutes)s minutes logged.") % {"minutes": int(raw[:6])})

    return ticket_action(request, number, act)


@staff_required
@require_POST
@domain_errors
def ticket_time_delete(request: AuthedRequest, number: int, entry_id: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        timeentries.time_entry_delete(organization=caller_organization(user), actor=user,
                                      entry_id=entry_id)  # fmt: skip
        return Done(gettext("Time entry deleted."))

    return ticket_action(request, number, act)


# ------------------------------------------------------------------ the time report
@manager_required
@require_GET
@domain_errors
def time_report_page(request: AuthedRequest) -> HttpResponse:
    """Logged time per agent, customer and company over a range of days."""
    user, organization = request.user, caller_organization(request.user)
    until = _day(request.GET.get("until", "")) or timezone.localdate()
    since = _day(request.GET.get("since", "")) or until - timedelta(days=30)
    tables = {
        by: time_report(organization=organization, actor=user, by=by, since=since, until=until)
        for by in GROUPS
    }
    return render(request, "web/desk/time_report.html", {
        "tables": tables, "since": since, "until": until,
        "reports_url": reverse("web:time_report"),
    })  # fmt: skip
