"""A new customer whose address is at a company's domain joins that company.

Every way a customer comes to be (portal, mail, API, single sign-on, the people
page) goes through accounts.services.user_create, which announces user.created:
this subscriber runs inside that transaction.
"""

from __future__ import annotations

from deskbase.accounts.models import Role
from deskbase.core import events
from deskbase.customers.services import attach_by_domain


@events.subscribe(events.USER_CREATED, "after")
def _file_under_company(event: events.Event) -> None:
    user = event.instance
    if user.role == Role.CUSTOMER:
        attach_by_domain(event.organization_id, user)
