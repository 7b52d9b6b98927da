"""CSV exports: a queue or saved view as the page shows it (filters and sort, every
page), and each dashboard table. Links beside each table lead here (docs/web.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from deskbase.accounts.requests import AuthedRequest
from deskbase.analytics.export import report_export
from deskbase.tickets.access import caller_organization
from deskbase.tickets.export import csv_chunks, ticket_export
from deskbase.web.views import bulk as bulk_views
from deskbase.web.views import dashboard as dashboard_views
from deskbase.web.views.common import domain_errors, staff_required


def csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """Rows streamed as a CSV download, a chunk at a time."""
    response = StreamingHttpResponse(csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@staff_required
@require_GET
@domain_errors
def queue_csv(request: AuthedRequest, slug: str) -> StreamingHttpResponse:
    """Every ticket of the queue with the page's filters and sort."""
    user = request.user
    filters, sort = bulk_views.page_filters(user, slug, request.GET)
    rows = ticket_export(
        organization=caller_organization(user), actor=user, filters=filters, sort=sort,
        zone=timezone.get_current_timezone(), source=f"queue:{slug}", request=request,
    )  # fmt: skip
    return csv_response(rows, f"tickets-{slug}.csv")


@staff_required
@require_GET
@domain_errors
def view_csv(request: AuthedRequest, view_id: int) -> StreamingHttpResponse:
    """Every ticket of a saved view, in its sort."""
    user = request.user
    view, filters, sort = bulk_views.view_page_filters(user, view_id)
    rows = ticket_export(
        organization=caller_organization(user), actor=user, filters=filters, sort=sort,
        zone=timezone.get_current_timezone(), source=f"view:{view.id}", request=request,
    )  # fmt: skip
    return csv_response(rows, f"tickets-view-{view.id}.csv")


@staff_required
@require_GET
@domain_errors
def dashboard_csv(request: AuthedRequest, table: str) -> StreamingHttpResponse:
    """One dashboard table with the dashboard's filters (range, team, agent, ...)."""
    user = request.user
    errors: list[str] = []
    organization, filters = dashboard_views.page_filters(request, user, errors)
    if table == "trends":
        filters = dashboard_views.trend_filters(organization, filters) or filters
    rows = report_export(
        organization=organization, actor=user, table=table, filters=filters, request=request
    )
    return csv_response(rows, f"dashboard-{table}.csv")
