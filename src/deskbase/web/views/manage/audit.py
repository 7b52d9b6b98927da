"""/manage/audit/: the organization's audit log for admins, filtered, and as CSV."""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext

from deskbase.accounts import audit_log
from deskbase.accounts.models import AuditAction, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.web.views.common import domain_errors, manager_required


def _day(raw: str, field: str, *, end: bool = False) -> datetime | None:
    if not raw:
        return None
    day = parse_date(raw)
    if day is None:
        raise ValidationFailed.one(field, gettext("A date as YYYY-MM-DD."))
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start + timedelta(days=1) if end else start


def _filters(request: AuthedRequest) -> audit_log.Filters:
    email = request.GET.get("person", "").strip().lower()[:254]
    person = None
    if email:
        found = User.all_objects.filter(organization_id=request.user.tenant_id, email=email)
        person = found.values_list("id", flat=True).first() or -1  # nobody: no entries
    return audit_log.Filters(
        action=request.GET.get("action", ""), person=person,
        since=_day(request.GET.get("since", ""), "since"),
        until=_day(request.GET.get("until", ""), "until", end=True),
    )  # fmt: skip


def _csv_cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is quoted as text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class _Echo:
    def write(self, value: str) -> str:
        return value


@manager_required
@domain_errors
def audit(request: AuthedRequest) -> HttpResponse:
    filters = _filters(request)
    before = None
    raw_at, raw_id = request.GET.get("before_at", ""), request.GET.get("before_id", "")
    if raw_at and raw_id.isdigit():
        at = parse_datetime(raw_at)
        before = (at, int(raw_id)) if at else None
    entries, names, next_key = audit_log.audit_page(
        actor=request.user, filters=filters, before=before
    )
    query = request.GET.copy()
    query.pop("before_at", None)
    query.pop("before_id", None)
    return render(request, "web/manage/audit.html", {
        "entries": [(e, names.get(e.actor_id or 0, ""), names.get(e.subject_id or 0, ""))
                    for e in entries],
        "next_key": next_key, "actions": AuditAction.choices, "query": query.urlencode(),
        "values": request.GET, "section": "audit",
    })  # fmt: skip


@manager_required
@domain_errors
def audit_csv(request: AuthedRequest) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = audit_log.audit_export(actor=request.user, filters=_filters(request))
    header = next(rows)  # the permission check runs here, before the response starts
    lines = (writer.writerow([_csv_cell(str(c)) for c in row]) for row in rows)
    response = StreamingHttpResponse(
        (line for part in ([writer.writerow(header)], lines) for line in part),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
