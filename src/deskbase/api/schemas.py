"""Response and request shapes shared by the API modules."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str | None]]


class PersonRef(Schema):
    id: int
    full_name: str
    email: str


class NamedRef(Schema):
    id: int
    name: str


class TicketOut(Schema):
    number: int
    subject: str
    status: str
    priority: str
    channel: str
    tags: list[str]
    custom_fields: dict
    customer: PersonRef
    assignee: PersonRef | None
    team: NamedRef | None
    category: NamedRef | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_breach: bool
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    satisfaction: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class CommentOut(Schema):
    id: int
    kind: str
    author: PersonRef | None
    body_text: str
    body_html: str
    created_at: datetime


class AttachmentOut(Schema):
    id: int
    file_name: str
    content_type: str
    size: int
    created_at: datetime


class HistoryOut(Schema):
    field: str
    old_value: str | None
    new_value: str | None
    actor_id: int | None
    created_at: datetime


class SlaEventOut(Schema):
    kind: str
    target: str
    due_at: datetime | None
    reason: str
    created_at: datetime


class TicketDetailOut(TicketOut):
    description: str
    description_html: str
    merged_into_number: int | None = None
    comments: list[CommentOut]
    attachments: list[AttachmentOut]
    history: list[HistoryOut]
    sla_events: list[SlaEventOut]


ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem,
          415: Problem, 422: Problem, 429: Problem}  # fmt: skip
