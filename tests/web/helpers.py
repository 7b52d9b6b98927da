"""Signing in to the web pages and counting their queries."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def queries_of(client: Client, url: str, expect: int = 200) -> int:
    """How many queries one GET of `url` runs (the page must answer `expect`)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == expect, response.content[:500]
    return len(captured.captured_queries)
