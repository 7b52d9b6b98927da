"""Demo data for `make run`: one organization with an admin, an agent and a customer."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from deskbase.accounts.models import Role, User
from deskbase.organizations.models import Organization

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


@transaction.atomic
def load_demo() -> bool:
    """Create the demo organization when the database holds no organization. True if created."""
    if Organization.objects.exists():
        return False
    organization = Organization.objects.create(slug=DEMO_SLUG, name="Demo Support")
    for login in DEMO_LOGINS:
        is_admin = login.role == Role.ADMIN
        User.objects.create_user(
            login.email,
            login.password,
            organization=organization,
            role=login.role,
            full_name=f"Demo {login.role.label}",
            is_staff=is_admin,
            is_superuser=is_admin,
        )
    return True
