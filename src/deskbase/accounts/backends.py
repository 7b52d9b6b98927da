"""Sign-in by organization, email and password, under row-level security.

The tenant is not known before sign-in, and accounts_user is tenant-isolated.
The sign-in form names the organization by its slug; the one narrow SECURITY
DEFINER function `deskbase_organization_id(slug)` turns it into an id, the
tenant is set for the transaction, and the user is looked up as any other row
(docs/tenancy.md).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from deskbase.accounts.models import User
from deskbase.accounts.readers import USERS
from deskbase.core.tenancy import current_tenant, set_tenant


def organization_id_for_slug(slug: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deskbase_organization_id(%s)", [(slug or "").strip().lower()])
        return cursor.fetchone()[0]


class TenantEmailBackend(ModelBackend):
    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        organization: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if organization is None and request is not None:
            organization = request.POST.get("organization")
        if not (organization and username and password):
            return None
        org_id = organization_id_for_slug(organization)
        if org_id is None or not connection.in_atomic_block:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        set_tenant(org_id)
        try:
            user = User.objects.get(organization_id=org_id, email=username.strip().lower())
        except User.DoesNotExist:
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: int) -> User | None:
        # Only the request's tenant is visible; TenantMiddleware set it from the session.
        if current_tenant() is None:
            return None
        # ModelBackend.get_user, read through a query compiled once (every request runs it)
        user = USERS.get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
