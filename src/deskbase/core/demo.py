"""Demo data for `make run`, made through the services as a user would make it.

Two organizations: "Demo Support" (slug `demo`) with teams, agents, customers,
SLA policies and a few hundred tickets over the last weeks — conversations,
every status, breached and met SLAs, CSAT — and a small second tenant
("Other Corp", slug `other`) that the first must never see.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from deskbase.accounts import services as people
from deskbase.accounts.models import Role, User
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.organizations.services import holiday_add, organization_create
from deskbase.sla.services import mark_breaches

DEMO_SLUG = "demo"


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

SUBJECTS = (
    "Cannot log in after password reset", "Invoice shows the wrong amount",
    "Export to CSV times out", "Two-factor code never arrives", "Refund for duplicate charge",
    "Dashboard loads slowly in the morning", "How do I add a teammate?",
    "Webhook deliveries failing with 502", "Change the billing email",
    "Mobile app crashes on upload", "API returns 429 too often", "Cancel my subscription",
)  # fmt: skip
REPLIES = (
    "Thanks for reaching out, I am looking into this now.",
    "Could you send a screenshot of the error?",
    "I have escalated this to our engineers.",
    "This should be fixed now; can you confirm?",
)
CUSTOMER_REPLIES = ("Here is the screenshot.", "Still happening for me.", "Works now, thanks!")


@transaction.atomic
def load_demo(*, tickets: int = 300, seed: int = 7) -> bool:
    """Create the demo organizations when the database holds none. True if created."""
    if Organization.all_objects.exists():
        return False
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    demo = organization_create(
        slug=DEMO_SLUG, name="Demo Support", tier="professional", timezone="Europe/Berlin"
    )
    staff, customers, extras = _people(demo)
    _sla_policies(demo)
    holiday_add(organization=demo, date=timezone.localdate().replace(month=12, day=25),
                name="Christmas Day")  # fmt: skip
    _tickets(demo, staff, customers, extras, rng, tickets)
    other = organization_create(slug="other", name="Other Corp")
    admin = people.user_create(
        organization=other, actor=None, email="admin@other.deskbase.test",
        password="other-admin-pass", role=Role.ADMIN, is_staff=True,  # noqa: S106 - demo login
    )  # fmt: skip
    _tickets(other, [admin], [admin], {}, rng, 5)
    for org in (demo, other):
        mark_breaches(organization=org)
    return True


def _people(org: Organization) -> tuple[list[User], list[User], dict]:
    logins = {login.role: login for login in DEMO_LOGINS}
    make = people.user_create
    admin = make(organization=org, actor=None, email=logins[Role.ADMIN].email,
                 password=logins[Role.ADMIN].password, role=Role.ADMIN, full_name="Ada Admin",
                 is_staff=True, is_superuser=True, availability="online")  # fmt: skip
    agent = make(organization=org, actor=None, email=logins[Role.AGENT].email,
                 password=logins[Role.AGENT].password, role=Role.AGENT, full_name="Alex Agent",
                 availability="online", skills=["billing", "technical"])  # fmt: skip
    staff = [admin, agent]
    extra_agents = [
        ("Sam Billing", ["billing"]), ("Tess Tech", ["technical"]),
        ("Kim Both", ["billing", "technical"]),
    ]  # fmt: skip
    for i, (name, skills) in enumerate(extra_agents):
        staff.append(make(organization=org, actor=None, email=f"agent{i + 2}@demo.deskbase.test",
                          password=None, role=Role.AGENT, full_name=name, skills=skills,
                          availability="online" if i != 2 else "away"))  # fmt: skip
    teams = {
        "billing": people.team_create(organization=org, actor=None, name="Billing"),
        "technical": people.team_create(organization=org, actor=None, name="Technical"),
    }
    for member in staff[1:]:
        for skill in member.skills:
            people.team_add_member(organization=org, actor=None, team=teams[skill], user=member)
    customers = [make(organization=org, actor=None, email=logins[Role.CUSTOMER].email,
                      password=logins[Role.CUSTOMER].password, role=Role.CUSTOMER,
                      full_name="Casey Customer", customer_tier="premium")]  # fmt: skip
    tiers = ("basic", "basic", "basic", "premium", "enterprise")
    for i in range(29):
        customers.append(make(organization=org, actor=None, email=f"customer{i}@example.test",
                              password=None, role=Role.CUSTOMER, full_name=f"Customer {i}",
                              customer_tier=tiers[i % len(tiers)]))  # fmt: skip
    return staff, customers, {"teams": teams, "categories": _categories(org)}


def _categories(org: Organization) -> dict:
    from deskbase.tickets.models import Category

    with tenant(org):
        billing = Category.objects.create(organization=org, name="Billing", skill="billing")
        technical = Category.objects.create(organization=org, name="Technical", skill="technical")
        login = Category.objects.create(organization=org, name="Login", parent=technical,
                                        skill="technical")  # fmt: skip
    return {"billing": billing, "technical": technical, "login": login}


def _sla_policies(org: Organization) -> None:
    from deskbase.sla.models import SlaPolicy

    targets = {"urgent": (30, 240), "high": (60, 480), "medium": (240, 1440), "low": (480, 2880)}
    factor = {"basic": 1.0, "premium": 0.5, "enterprise": 0.25}
    with tenant(org):
        for priority, (first, resolve) in targets.items():
            for tier, f in factor.items():
                SlaPolicy.objects.create(
                    organization=org, name=f"{priority.title()} / {tier}", priority=priority,
                    customer_tier=tier, first_response_minutes=max(int(first * f), 15),
                    resolution_minutes=max(int(resolve * f), 60),
                    business_hours=priority != "urgent",
                    valid_from=timezone.now() - timedelta(days=365),
                )  # fmt: skip


def _tickets(org, staff, customers, extras, rng: random.Random, count: int) -> None:
    from deskbase.tickets import services as t

    now = timezone.now()
    categories = list(extras.get("categories", {}).values())
    for _ in range(count):
        opened = now - timedelta(minutes=rng.randint(30, 60 * 24 * 45))
        agent = rng.choice(staff)
        category = rng.choice(categories) if categories and rng.random() < 0.8 else None
        team = extras["teams"].get(category.skill) if category and category.skill else None
        ticket = t.ticket_create(
            organization=org, actor=agent, customer=rng.choice(customers),
            subject=rng.choice(SUBJECTS), description="Details: " + rng.choice(SUBJECTS).lower(),
            priority=rng.choices(["low", "medium", "high", "urgent"], [3, 5, 2, 1])[0],
            channel=rng.choice(["email", "web", "portal", "chat", "phone", "api"]),
            category=category, team=team, at=opened,
        )  # fmt: skip
        _conversation(org, ticket, agent, rng, opened, now)


def _conversation(org, ticket, agent, rng: random.Random, opened, now) -> None:
    from deskbase.tickets import services as t

    if rng.random() < 0.15:
        return  # still new: nobody has answered
    t.ticket_assign(organization=org, actor=agent, ticket=ticket, assignee=agent)
    step = (now - opened) / 4
    t.comment_add(organization=org, actor=agent, ticket=ticket, body=rng.choice(REPLIES),
                  at=opened + step * rng.uniform(0.1, 1))  # fmt: skip
    if rng.random() < 0.3:
        t.comment_add(organization=org, actor=agent, ticket=ticket, kind="internal",
                      body="Checked the logs; a known issue.", at=opened + step * 1.5)  # fmt: skip
    if rng.random() < 0.6:
        t.comment_add(organization=org, actor=ticket.customer, ticket=ticket,
                      body=rng.choice(CUSTOMER_REPLIES))  # fmt: skip
    final = rng.choices(["open", "pending", "resolved", "closed"], [2, 1, 4, 3])[0]
    if final != "open":
        t.ticket_change_status(organization=org, actor=agent, ticket=ticket, status=final,
                               at=opened + step * 3)  # fmt: skip
    if final in ("resolved", "closed") and rng.random() < 0.4:
        t.csat_record(organization=org, actor=ticket.customer, ticket=ticket,
                      rating=rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 6])[0])  # fmt: skip
