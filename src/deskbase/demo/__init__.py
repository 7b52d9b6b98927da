"""Demo data for `make run`, made through the services as the people of a desk would.

Two organizations: "Demo Support" (slug `demo`), a healthy desk with a few
problems — about 300 tickets over the last six weeks from customers by email,
portal, chat and API (agents open the phone calls), each a coherent conversation
(deskbase.demo.scenarios), most answered and solved within their SLA, a few
late, a handful breaching right now, CSAT ratings, shared and personal canned
responses — and a small second tenant ("Other Corp", slug `other`) that the
first must never see.

Every write goes through a service. Past acts are recorded at the time they
happened with the services' `at` argument (deskbase.core.clock): history rows,
SLA events and `updated_at` say when, not when the demo was loaded. The random
choices are seeded, so a load is the same story every time, told up to the
moment it is loaded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from deskbase.accounts import services as people
from deskbase.accounts.models import Role, User
from deskbase.core.tenancy import tenant
from deskbase.dbtools import partitions
from deskbase.demo import stories
from deskbase.demo.canned import CANNED_PERSONAL, CANNED_SHARED
from deskbase.organizations.models import Organization
from deskbase.organizations.services import holiday_add, organization_create
from deskbase.sla.policies import sla_policy_create
from deskbase.sla.services import mark_breaches
from deskbase.tickets.canned import canned_response_create
from deskbase.tickets.customfields import custom_field_create

DEMO_SLUG = "demo"
SPAN = timedelta(days=42)  # how far back the demo's tickets go


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


# Demo accounts on a local database only; the README tells operators to remove
# them (or never load them: `deskbase up --no-demo`) anywhere else.
DEMO_LOGINS = (
    DemoLogin(Role.ADMIN, "admin@demo.deskbase.test", "demo-admin-pass"),
    DemoLogin(Role.AGENT, "agent@demo.deskbase.test", "demo-agent-pass"),
    DemoLogin(Role.CUSTOMER, "customer@demo.deskbase.test", "demo-customer-pass"),
)

# The customers of the demo desk besides Casey (the customer login): name, company, tier.
CUSTOMERS = (
    ("Priya Patel", "Northwind", "enterprise"), ("Lukas Mueller", "Northwind", "enterprise"),
    ("Sofia Rossi", "Contoso", "premium"), ("Wei Chen", "Contoso", "premium"),
    ("Amara Okafor", "Fabrikam", "basic"), ("Mateo Garcia", "Fabrikam", "basic"),
    ("Emma Jensen", "Tailspin", "basic"), ("Yuki Tanaka", "Tailspin", "basic"),
    ("Noah Schmidt", "Litware", "premium"), ("Fatima Haddad", "Litware", "premium"),
    ("Ivan Petrov", "Globex", "basic"), ("Elena Costa", "Globex", "basic"),
    ("Kofi Mensah", "Initech", "basic"), ("Aisha Rahman", "Initech", "basic"),
    ("Hiro Sato", "Umbrella", "enterprise"), ("Lena Fischer", "Umbrella", "enterprise"),
    ("Diego Lopez", "Vandelay", "basic"), ("Nora Lindqvist", "Vandelay", "basic"),
    ("Omar Ali", "Hooli", "premium"), ("Zara Khan", "Hooli", "premium"),
    ("Felix Weber", "Acme", "basic"), ("Ines Santos", "Acme", "basic"),
    ("Ravi Singh", "Wonka", "basic"), ("Leila Yilmaz", "Wonka", "basic"),
    ("Jonas Berg", "Stark", "premium"), ("Maya Nakamura", "Stark", "premium"),
    ("Carlos Ortiz", "Aperture", "basic"), ("Hannah Murphy", "Aperture", "basic"),
    ("Kenji Suzuki", "Monarch", "basic"),
)  # fmt: skip
# SLA targets in minutes (first response, resolution) for basic customers; premium get
# half, enterprise a quarter. Urgent tickets count calendar time, the others business hours.
SLA_TARGETS = {"urgent": (30, 240), "high": (60, 480), "medium": (240, 1440), "low": (480, 2880)}
TIER_FACTORS = {"basic": 1.0, "premium": 0.5, "enterprise": 0.25}
# Category: (parent, skill); the skill routes it to the team of that name.
CATEGORIES = {
    "Billing": (None, "billing"), "Technical": (None, "technical"),
    "Login": ("Technical", "technical"), "API & webhooks": ("Technical", "technical"),
    "Bugs": ("Technical", "technical"), "Feature requests": (None, ""), "Account": (None, ""),
}  # fmt: skip


@transaction.atomic
def load_demo(*, tickets: int = 300, seed: int = 7, now: datetime | None = None) -> bool:
    """Create the demo organizations when the database holds none. True if created.

    `now` is the moment the demo's six weeks lead up to (default: now).
    """
    if Organization.all_objects.exists():
        return False
    now = now or timezone.now()
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    # Every dated table's months, before their rows arrive (needs the owner role).
    partitions.ensure_range(now - SPAN - timedelta(days=1), now)
    demo = organization_create(
        slug=DEMO_SLUG, name="Demo Support", tier="professional", timezone="Europe/Berlin"
    )
    holiday_add(organization=demo, actor=None, date=timezone.localdate().replace(month=12, day=25),
                name="Christmas Day")  # fmt: skip
    desk = _demo_desk(demo, now)
    stories.play(desk, rng, count=tickets, since=now - SPAN, now=now)
    other = _other_desk(now)
    stories.play(other, rng, count=5, since=now - timedelta(days=14), now=now)
    for org in (demo, other.organization):
        # What the breach check, which runs every few minutes, has flagged by now.
        mark_breaches(organization=org, now=now)
    return True


def _demo_desk(org: Organization, now: datetime) -> stories.Desk:
    logins = {login.role: login for login in DEMO_LOGINS}
    make = people.user_create
    admin = make(organization=org, actor=None, email=logins[Role.ADMIN].email,
                 password=logins[Role.ADMIN].password, role=Role.ADMIN, full_name="Ada Admin",
                 availability="online")  # fmt: skip
    agent = make(organization=org, actor=admin, email=logins[Role.AGENT].email,
                 password=logins[Role.AGENT].password, role=Role.AGENT, full_name="Alex Agent",
                 availability="online", skills=["billing", "technical"])  # fmt: skip
    staff = [agent]
    for i, (name, skills, availability) in enumerate((
        ("Sam Billing", ["billing"], "online"), ("Tess Tech", ["technical"], "online"),
        ("Kim Both", ["billing", "technical"], "away"),
    )):  # fmt: skip
        staff.append(make(organization=org, actor=admin, email=f"agent{i + 2}@demo.deskbase.test",
                          password=None, role=Role.AGENT, full_name=name, skills=skills,
                          availability=availability))  # fmt: skip
    teams = {
        skill: people.team_create(organization=org, actor=admin, name=skill.title())
        for skill in ("billing", "technical")
    }
    for member in staff:
        for skill in member.skills:
            people.team_add_member(organization=org, actor=admin, team=teams[skill], user=member)
    customers = [make(organization=org, actor=admin, email=logins[Role.CUSTOMER].email,
                      password=logins[Role.CUSTOMER].password, role=Role.CUSTOMER,
                      full_name="Casey Customer", customer_tier="premium")]  # fmt: skip
    for name, company, tier in CUSTOMERS:
        email = f"{name.lower().replace(' ', '.')}@{company.lower()}.example"
        customers.append(make(organization=org, actor=admin, email=email, password=None,
                              role=Role.CUSTOMER, full_name=name, customer_tier=tier))  # fmt: skip
    _sla_policies(org, admin, now)
    _custom_fields(org, admin)
    return stories.Desk(
        organization=org, admin=admin, agents=[*staff, admin], demo_agent=agent,
        customers=customers, teams=teams, categories=_categories(org),
        canned=_canned(org, admin, agent),
    )  # fmt: skip


# The demo's typed custom fields (the ticket page's panel shows them): key, label, type,
# options, what they apply to. Its tickets carry the customer's plan (demo/stories.py).
CUSTOM_FIELDS: tuple[tuple[str, str, str, list[str], str], ...] = (
    ("plan", "Plan", "select", ["basic", "premium", "enterprise"], "ticket"),
    ("order_number", "Order number", "text", [], "ticket"),
    ("renewal", "Renewal date", "date", [], "ticket"),
    ("vip", "VIP", "checkbox", [], "ticket"),
    ("seats", "Seats", "number", [], "company"),
)


def _custom_fields(org: Organization, admin: User) -> None:
    for position, (key, label, kind, options, target) in enumerate(CUSTOM_FIELDS):
        custom_field_create(organization=org, actor=admin, key=key, label=label,
                            field_type=kind, options=options, applies_to=target,
                            position=position)  # fmt: skip


def _categories(org: Organization) -> dict:
    # No service writes categories yet (the Django admin does): created as the admin would.
    from deskbase.tickets.models import Category

    made: dict = {}
    with tenant(org):
        for name, (parent, skill) in CATEGORIES.items():
            made[name] = Category.objects.create(
                organization=org, name=name, parent=made.get(parent), skill=skill
            )
    return made


def _sla_policies(org: Organization, admin: User, now: datetime) -> None:
    for priority, (first, resolve) in SLA_TARGETS.items():
        for tier, factor in TIER_FACTORS.items():
            sla_policy_create(
                organization=org, actor=admin, name=f"{priority.title()} / {tier}",
                priority=priority, customer_tier=tier,
                first_response_minutes=max(int(first * factor), 15),
                resolution_minutes=max(int(resolve * factor), 60),
                business_hours=priority != "urgent", valid_from=now - timedelta(days=365),
            )  # fmt: skip


def _canned(org: Organization, admin: User, agent: User) -> dict:
    made = {}
    for name, body in CANNED_SHARED:
        made[name] = canned_response_create(organization=org, actor=admin, name=name, body=body)
    for name, body in CANNED_PERSONAL:
        made[name] = canned_response_create(
            organization=org, actor=agent, name=name, body=body, personal=True
        )
    return made


def _other_desk(now: datetime) -> stories.Desk:
    org = organization_create(slug="other", name="Other Corp")
    admin = people.user_create(
        organization=org, actor=None, email="admin@other.deskbase.test",
        password="other-admin-pass", role=Role.ADMIN,  # noqa: S106 - demo login
        full_name="Otto Other", availability="online",
    )  # fmt: skip
    customer = people.user_create(
        organization=org, actor=admin, email="olga@other-customer.example", password=None,
        role=Role.CUSTOMER, full_name="Olga Other",
    )  # fmt: skip
    return stories.Desk(
        organization=org, admin=admin, agents=[admin], demo_agent=admin, customers=[customer],
        teams={}, categories={}, canned={},
    )  # fmt: skip
