"""Each request runs in one transaction whose tenant is the signed-in user's organization.

The organization id is kept in the session at sign-in (accounts.signals); it is
set with SET LOCAL before the user is loaded, because accounts_user itself is
tenant-isolated. Requests without a session tenant see no tenant rows.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from deskbase.core.tenancy import set_tenant

SESSION_KEY = "_deskbase_tenant"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # /health must answer when the database is down: it opens no transaction here.
        if request.path == "/health":
            return self.get_response(request)
        with transaction.atomic():
            tenant_id = request.session.get(SESSION_KEY)
            if tenant_id:
                user_id = request.session.get("_auth_user_id")
                set_tenant(int(tenant_id), int(user_id) if user_id else None)
            return self.get_response(request)
