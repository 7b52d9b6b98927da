"""Sign-in hooks."""

from __future__ import annotations

from typing import Any

from deskbase.core.tenant_middleware import SESSION_KEY


def remember_tenant(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Keep the organization in the session: later requests set it before loading the user."""
    request.session[SESSION_KEY] = user.organization_id
