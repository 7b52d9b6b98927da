"""Writes to companies: admins and managers manage them, one transaction each."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.accounts.services import user_update
from deskbase.core import events
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant_atomic
from deskbase.customers.models import DOMAIN_PATTERN, Company, CompanyDomain, CompanyMember
from deskbase.organizations.models import Organization
from deskbase.tickets import customfields

MAX_DOMAINS = 50
# Mail providers anyone can have an address at: as a company's domain they would file
# every stranger who writes from them under that company.
PUBLIC_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.de", "ymail.com",
    "hotmail.com", "hotmail.co.uk", "hotmail.de", "outlook.com", "outlook.de", "live.com",
    "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "gmx.de", "gmx.net", "gmx.com",
    "web.de", "t-online.de", "freenet.de", "posteo.de", "mail.com", "mail.ru", "yandex.ru",
    "yandex.com", "protonmail.com", "proton.me", "pm.me", "tutanota.com", "zoho.com",
    "qq.com", "163.com", "126.com", "orange.fr", "free.fr", "laposte.net", "libero.it",
    "fastmail.com", "hey.com",
})  # fmt: skip
FIELDS = frozenset({"name", "tier", "notes", "domains", "custom_fields"})


def ensure_may_manage(actor: User | None) -> None:
    if actor is not None and actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(gettext("only admins and managers may manage companies"))


def normalized_domains(domains: Iterable[Any]) -> list[str]:
    """Lower-case, stripped, deduplicated domains in the order given; bad ones refused."""
    if isinstance(domains, str) or not isinstance(domains, Iterable):
        raise ValidationFailed.one(
            "domains", gettext("Domains are a list of names like example.com.")
        )
    found: list[str] = []
    for raw in domains:
        if not isinstance(raw, str):
            raise ValidationFailed.one(
                "domains", gettext("Domains are a list of names like example.com.")
            )
        domain = raw.strip().lower().removeprefix("@").rstrip(".")
        if not domain:
            continue
        if len(domain) > 253 or not re.fullmatch(DOMAIN_PATTERN, domain):
            raise ValidationFailed.one(
                "domains", gettext("%(raw)r is not a domain name.") % {"raw": raw.strip()}
            )
        if domain in PUBLIC_DOMAINS:
            raise ValidationFailed.one(
                "domains",
                gettext("%(domain)s is a public mail provider, not a company's domain.")
                % {"domain": domain},
            )
        if domain not in found:
            found.append(domain)
    if len(found) > MAX_DOMAINS:
        raise ValidationFailed.one(
            "domains",
            gettext("At most %(max_domains)s domains per company.") % {"max_domains": MAX_DOMAINS},
        )
    return found


def _set_domains(organization: Organization, company: Company, domains: list[str]) -> None:
    CompanyDomain.objects.filter(company=company).exclude(domain__in=domains).delete()
    have = set(CompanyDomain.objects.filter(company=company).values_list("domain", flat=True))
    # A domain of another company violates customers_companydomain_unique: the
    # transaction turns it into an error on `domains` (tenant_atomic).
    CompanyDomain.objects.bulk_create(
        [CompanyDomain(organization=organization, company=company, domain=d)
         for d in domains if d not in have]
    )  # fmt: skip


@tenant_atomic
def company_create(
    *,
    organization: Organization,
    actor: User | None,
    name: str,
    tier: str = "basic",
    notes: str = "",
    domains: Iterable[str] = (),
) -> Company:
    ensure_may_manage(actor)
    company = Company(organization=organization, name=(name or "").strip(), tier=tier,
                      notes=(notes or "").strip())  # fmt: skip
    wanted = normalized_domains(domains)
    validated(company, exclude=["organization"], validate_unique=False,
              validate_constraints=False)  # fmt: skip
    with events.announce(events.COMPANY_CREATED, organization, actor, company):
        company.save()
        _set_domains(organization, company, wanted)
        company.domain_names = wanted  # type: ignore[attr-defined]  # what the answer shows
    return company


def _company(organization: Organization, company_id: int, *, lock: bool = False) -> Company:
    rows = Company.objects.filter(organization=organization, pk=company_id)
    found = (rows.select_for_update() if lock else rows).first()
    if found is None:
        raise NotFound(
            gettext("no company %(company_id)s") % {"company_id": company_id}, field="company_id"
        )
    return found


@tenant_atomic
def company_update(
    *, organization: Organization, actor: User | None, company_id: int, **changes: Any
) -> Company:
    """Name, tier, notes, domains; a new tier becomes the SLA tier of the company's people."""
    ensure_may_manage(actor)
    unknown = set(changes) - FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed.one(
            field, gettext("%(field)s cannot be changed here.") % {"field": field}
        )
    company = _company(organization, company_id, lock=True)
    before = {f: getattr(company, f) for f in ("name", "tier", "notes", "custom_fields")}
    fields = []
    for field in ("name", "tier", "notes"):
        if field in changes and changes[field] != getattr(company, field):
            setattr(company, field, (changes[field] or "").strip())
            fields.append(field)
    if "custom_fields" in changes and changes["custom_fields"] != company.custom_fields:
        if not isinstance(changes["custom_fields"], dict):
            raise ValidationFailed.one("custom_fields", gettext("Custom fields are a JSON object."))
        customfields.check_values(
            organization=organization,
            applies_to="company",
            old=company.custom_fields or {},
            new=changes["custom_fields"],
        )
        company.custom_fields = changes["custom_fields"]
        fields.append("custom_fields")
    validated(company, exclude=["organization"], validate_unique=False,
              validate_constraints=False)  # fmt: skip
    changed = {f: (before[f], getattr(company, f)) for f in fields}
    if "domains" in changes:
        old_domains = _domains(company)
        new_domains = normalized_domains(changes["domains"])
        if sorted(new_domains) != old_domains:
            changed["domains"] = (old_domains, sorted(new_domains))
    if not changed:
        return company
    with events.announce(events.COMPANY_UPDATED, organization, actor, company, **changed):
        if fields:
            company.save(update_fields=fields)
            company.refresh_from_db(fields=["updated_at"])
        if "domains" in changed:
            _set_domains(organization, company, new_domains)
    if "tier" in fields:
        for member in _members(company):
            if member.customer_tier != company.tier:
                user_update(organization=organization, actor=actor, user=member,
                            customer_tier=company.tier)  # fmt: skip
    return company


def _domains(company: Company) -> list[str]:
    return sorted(CompanyDomain.objects.filter(company=company).values_list("domain", flat=True))


def _members(company: Company) -> list[User]:
    ids = CompanyMember.objects.filter(company=company).values("user_id")
    return list(User.objects.filter(pk__in=ids).order_by("id"))


@tenant_atomic
def company_delete(*, organization: Organization, actor: User | None, company_id: int) -> None:
    """Delete a company; its people stay, without a company."""
    ensure_may_manage(actor)
    company = _company(organization, company_id, lock=True)
    with events.announce(events.COMPANY_DELETED, organization, actor, company):
        company.delete()
        company.pk = company_id  # the event names the company that was deleted


@tenant_atomic
def customer_set_company(
    *, organization: Organization, actor: User | None, customer: User, company_id: int | None
) -> None:
    """File a customer under a company (None: under none); they take its tier."""
    ensure_may_manage(actor)
    if customer.organization_id != organization.id or customer.role != Role.CUSTOMER:
        raise ValidationFailed.one("customer", gettext("No such customer in this organization."))
    CompanyMember.objects.filter(user=customer).delete()
    if company_id is None:
        return
    company = Company.objects.filter(organization=organization, pk=company_id).first()
    if company is None:
        raise ValidationFailed.one("company_id", gettext("No such company here."))
    CompanyMember.objects.create(organization=organization, company=company, user=customer)
    if customer.customer_tier != company.tier:
        user_update(
            organization=organization, actor=actor, user=customer, customer_tier=company.tier
        )


def attach_by_domain(organization_id: int, user: User) -> Company | None:
    """File a new customer under the company of their address's domain, if there is one
    (inside the transaction that creates them; they have no tickets yet)."""
    domain = user.email.rpartition("@")[2].lower()
    company = Company.objects.filter(organization_id=organization_id,
                                     domains__domain=domain).first()  # fmt: skip
    if company is None:
        return None
    CompanyMember.objects.create(organization_id=organization_id, company=company, user=user)
    if user.customer_tier != company.tier:
        User.objects.filter(pk=user.pk).update(customer_tier=company.tier)
        user.customer_tier = company.tier
    return company
