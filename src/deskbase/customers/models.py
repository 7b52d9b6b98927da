"""Companies: the organizations a tenant's customers work for.

A customer belongs to at most one company (CompanyMember, unique per user). A
company's e-mail domains attach new customers whose address is at that domain
(deskbase.customers.subscribers); its tier is the SLA tier of its people.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from deskbase.accounts.models import CustomerTier
from deskbase.core.models import TenantModel, TimestampedModel, choice_constraint

# A domain name: labels of letters, digits and inner hyphens, a letter-only TLD.
DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class Company(TenantModel, TimestampedModel):
    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=16, choices=CustomerTier.choices, default=CustomerTier.BASIC)
    notes = models.TextField(blank=True, max_length=10_000)
    # Typed per organization (tickets.CustomField, applies_to "company"), checked by the
    # trigger customers_company_custom_fields_valid.
    custom_fields = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "customers_company"
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("name"),
                name="customers_company_name_unique",
                violation_error_code="name",
                violation_error_message=_("A company with this name already exists."),
            ),
            models.UniqueConstraint(
                fields=["organization", "id"], name="customers_company_org_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(name__regex=r"\S"),
                name="customers_company_name_not_blank",
                violation_error_code="name",
                violation_error_message=_("A company needs a name."),
            ),
            choice_constraint(
                "tier",
                CustomerTier,
                name="customers_company_tier_valid",
                message=_("Unknown tier."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CompanyDomain(TenantModel):
    """An e-mail domain of a company: one company per domain in an organization."""

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="domains", db_index=False
    )
    domain = models.CharField(max_length=253)

    class Meta:
        db_table = "customers_companydomain"
        indexes = [models.Index("organization", "company", name="customers_domain_by_company")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "domain"],
                name="customers_companydomain_unique",
                violation_error_code="domains",
                violation_error_message=_("This domain belongs to another company."),
            ),
            models.CheckConstraint(
                condition=Q(domain__regex=DOMAIN_PATTERN),
                name="customers_companydomain_format",
                violation_error_code="domains",
                violation_error_message=_("Enter a domain name in lower case, like example.com."),
            ),
        ]

    def __str__(self) -> str:
        return self.domain


class CompanyMember(TenantModel):
    """A customer's company (at most one)."""

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="company_memberships",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "customers_companymember"
        indexes = [
            models.Index("organization", "company", "user", name="customers_member_by_company")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                name="customers_companymember_one_company",
                violation_error_code="user",
                violation_error_message=_("This customer already belongs to a company."),
            ),
        ]
