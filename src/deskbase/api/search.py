"""The search endpoints of /api/v1."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["search"])
