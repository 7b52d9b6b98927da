"""How each request reads who is calling (deskbase.core.fastread)."""

from __future__ import annotations

from deskbase.accounts.models import User
from deskbase.core.fastread import RowReader

# The default manager's filter (deskbase.core.models.LiveManager): live users only.
USERS = RowReader(User, where="m.deleted_at IS NULL")
