"""Every write to a ticket. One transaction each, with the tenant set for row-level security.

Each service validates first (errors name the field), locks the ticket, checks
the caller's `version` (a stale one is a Conflict), writes, and announces the
change as a domain event. History rows are written by the database trigger
`tickets_ticket_history` in the same transaction, with the actor from
`deskbase.actor_id`.

`at` (ticket_create, ticket_change_status, ticket_assign, comment_add,
csat_record) records an imported act at the time it really happened: the demo's
weeks of past work, an import. No request passes it. The rows the service writes,
the history rows the trigger writes and the ticket's updated_at all carry that
time (deskbase.core.clock).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core import events, jsonbounds
from deskbase.core.clock import happened_at
from deskbase.core.errors import Conflict, PermissionDenied, ValidationFailed, validated
from deskbase.core.sanitize import clean_html, html_to_text, text_to_html
from deskbase.core.tenancy import tenant_atomic
from deskbase.core.updates import model_update
from deskbase.organizations.models import Organization
from deskbase.sla import services as sla
from deskbase.tickets import customfields, routing
from deskbase.tickets.locks import lock_tickets
from deskbase.tickets.models import (
    TRANSITIONS,
    CommentKind,
    CsatResponse,
    Status,
    Ticket,
    TicketAttachment,
    TicketComment,
)
from deskbase.tickets.permissions import (
    customer_may_set_status,
    ensure_can_view_ticket,
    ensure_staff,
    is_rateable,
    is_staff_member,
    takes_replies,
)

EDITABLE_FIELDS = frozenset(
    {"subject", "description", "priority", "channel", "category", "team", "tags", "custom_fields"}
)
# What a customer decides about the ticket they open (docs/permissions.md): what it is
# about (subject, description, category, custom fields) and how much it hurts (low to
# high). Urgent is the desk's triage call (it takes the tightest SLA), and so are the
# team, the assignee, routing, tags (the desk's own filing) and a backdated time. A
# phone ticket is logged by the agent who took the call.
STAFF_ONLY_PRIORITIES = frozenset({"urgent"})
STAFF_ONLY_CHANNELS = frozenset({"phone"})


# ------------------------------------------------------------------ helpers


def _check_same_tenant(organization: Organization, **references: Any) -> None:
    """A reference to another tenant's row is an error naming the field (RLS hides it anyway)."""
    for field, obj in references.items():
        if obj is not None and getattr(obj, "organization_id", None) != organization.id:
            raise ValidationFailed.one(
                field, gettext("No such %(field)s in this organization.") % {"field": field}
            )


def _validated(instance: Any, exclude: Iterable[str] = ()) -> None:
    """Field rules in Python; the table's constraints are left to PostgreSQL.

    full_clean() would check each CHECK and UNIQUE constraint with a query of its
    own (a dozen round trips per ticket); the database checks them on the write
    anyway, and `tenant_atomic` turns a violation into the same field error.
    """
    # Foreign keys too: PostgreSQL checks them (and the same-tenant composite keys);
    # _check_same_tenant has already named a reference to another tenant.
    references = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    validated(
        instance,
        exclude=[*exclude, *references],
        validate_unique=False,
        validate_constraints=False,
    )


def _locked(ticket: Ticket, version: int | None) -> Ticket:
    """Lock the ticket's row and check the caller saw its latest version."""
    current = lock_tickets([ticket.id])[ticket.id]
    if version is not None and current.version != version:
        raise Conflict(
            gettext(
                "ticket #%(number)s was changed by someone else: you edited version "
                "%(version)s, the latest is %(latest)s; reload and try again"
            )
            % {"number": current.number, "version": version, "latest": current.version},
            field="version",
        )
    return current


def _save(ticket: Ticket, fields: Iterable[str], *, bump: bool = True) -> None:
    fields = set(fields)
    if not fields:
        return
    if bump:
        ticket.version = F("version") + 1
        fields.add("version")
    # The trigger sets updated_at (tickets/0009); as an expression it comes back, with
    # the bumped version, in the UPDATE's RETURNING: no read back.
    ticket.updated_at = Now()
    fields.add("updated_at")
    ticket.save(update_fields=sorted(fields))


def _sanitized_body(body: str, *, is_html: bool) -> tuple[str, str]:
    """(plain text, sanitized HTML) of a body given as text or as HTML."""
    if is_html:
        html = clean_html(body)
        return html_to_text(html), html
    return body, text_to_html(body)


def _now() -> datetime:
    return timezone.now()


def _past(at: datetime, *, not_before: datetime | None = None) -> datetime:
    """An imported time: aware, not in the future, not before the ticket was opened."""
    if timezone.is_naive(at) or at > _now():
        raise ValidationFailed.one(
            "at", gettext("An import time must be an aware time in the past.")
        )
    if not_before is not None and at < not_before:
        raise ValidationFailed.one("at", gettext("This happened before the ticket was opened."))
    return at


# ------------------------------------------------------------------ create
@tenant_atomic
def ticket_create(
    *,
    organization: Organization,
    actor: User,
    subject: str,
    description: str = "",
    description_is_html: bool = False,
    customer: User | None = None,
    priority: str = "medium",
    channel: str = "web",
    category: Any = None,
    team: Any = None,
    tags: Iterable[str] = (),
    custom_fields: dict | None = None,
    assignee: User | None = None,
    auto_assign: bool = False,
    at: datetime | None = None,
) -> Ticket:
    """Open a ticket. A customer opens it for themselves; staff name the customer.

    `at` backdates an imported ticket to when it was really opened.
    """
    tags = list(tags or ())
    if not is_staff_member(actor):
        if customer is not None and customer.id != actor.id:
            raise PermissionDenied(
                gettext("customers open tickets only for themselves"), field="customer"
            )
        _refuse_customer_choices(
            priority=priority,
            channel=channel,
            team=team,
            tags=tags,
            assignee=assignee,
            auto_assign=auto_assign,
        )
        customer = actor
    if customer is None:
        raise ValidationFailed.one("customer", gettext("A ticket needs a customer."))
    _check_same_tenant(
        organization, customer=customer, category=category, team=team, assignee=assignee
    )
    _check_custom_fields(custom_fields or {})
    customfields.check_values(organization=organization, applies_to="ticket", old={},
                              new=custom_fields or {})  # fmt: skip
    text, html = _sanitized_body(description, is_html=description_is_html)
    ticket = Ticket(
        organization=organization,
        subject=(subject or "").strip(),
        description=text,
        description_html=html,
        customer=customer,
        priority=priority,
        channel=channel,
        category=category,
        team=team,
        tags=_normalized_tags(tags),
        custom_fields=custom_fields or {},
    )
    if at is not None:
        ticket.created_at = ticket.updated_at = _past(at)
    _validated(ticket, exclude=["number"])
    if assignee is not None:
        routing.check_assignable(organization=organization, agent=assignee)
    with events.announce(events.TICKET_CREATED, organization, actor, ticket), happened_at(at):
        ticket.save()  # number, created_at, updated_at: the INSERT's RETURNING
        changed = sla.sla_start(ticket, at=ticket.created_at)
        if assignee is not None:
            ticket.assignee = assignee
            changed.append("assignee")
        elif auto_assign:
            chosen = routing.pick_agent(organization=organization, ticket=ticket)
            if chosen is not None:
                ticket.assignee = chosen
                changed.append("assignee")
        _save(ticket, changed, bump=False)
    return ticket


def _refuse_customer_choices(
    *, priority: str, channel: str, team: Any, tags: list[str], assignee: User | None,
    auto_assign: bool,
) -> None:  # fmt: skip
    """A customer's ticket: each choice that is the desk's is refused, never dropped."""
    refused = [  # (field, what the message names, whether it was given)
        ("team", "team", team is not None),
        ("assignee", "assignee", assignee is not None),
        ("auto_assign", "auto_assign", bool(auto_assign)),
        ("tags", "tags", bool(tags)),
        ("priority", f"priority {priority!r}", priority in STAFF_ONLY_PRIORITIES),
        ("channel", f"channel {channel!r}", channel in STAFF_ONLY_CHANNELS),
    ]
    for field, what, given in refused:
        if given:
            raise PermissionDenied(
                gettext("customers cannot set %(what)s: the desk decides it") % {"what": what},
                field=field,
            )


def _check_custom_fields(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationFailed.one("custom_fields", gettext("Custom fields are a JSON object."))
    jsonbounds.check("custom_fields", value, jsonbounds.CUSTOM_FIELDS)


def _normalized_tags(tags: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags or ():
        cleaned = str(tag).strip().lower()
        if not cleaned:
            continue
        if len(cleaned) > 50:
            raise ValidationFailed.one(
                "tags", gettext("Tag %(cleaned)r... is longer than 50.") % {"cleaned": cleaned[:20]}
            )
        seen[cleaned] = None
    return list(seen)


# ------------------------------------------------------------------ update
@tenant_atomic
def ticket_update(
    *,
    organization: Organization,
    actor: User,
    ticket: Ticket,
    version: int,
    at: datetime | None = None,
    **changes: Any,
) -> Ticket:
    """Change editable fields (subject, priority, category, team, tags ...) at `version`.

    `at` records an imported change at the time it was really made.
    """
    ensure_staff(actor, gettext("edit tickets"))
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed.one(
            field, gettext("%(field)s cannot be changed here.") % {"field": field}
        )
    _check_same_tenant(organization, category=changes.get("category"), team=changes.get("team"))
    if "custom_fields" in changes:
        _check_custom_fields(changes["custom_fields"])
    current = _locked(ticket, version)
    if "custom_fields" in changes:
        customfields.check_values(
            organization=organization, applies_to="ticket",
            old=current.custom_fields or {}, new=changes["custom_fields"],
        )  # fmt: skip
    if "tags" in changes:
        changes["tags"] = _normalized_tags(changes["tags"])
    if "description" in changes:
        changes["description"], changes["description_html"] = _sanitized_body(
            changes["description"], is_html=False
        )
    update = model_update(current, fields=EDITABLE_FIELDS | {"description_html"}, data=changes)
    _validated(current)
    if not update:
        return current
    with events.announce(events.TICKET_UPDATED, organization, actor, current, **update.changes):
        fields = set(update.fields)
        when = _past(at, not_before=current.created_at) if at is not None else _now()
        with happened_at(at):
            if "priority" in fields:
                fields.update(sla.sla_recompute(current, reason="priority changed", at=when))
            _save(current, fields)
    return current


# ------------------------------------------------------------------ status
def _check_transition(ticket: Ticket, status: str) -> None:
    if status not in Status.values:
        raise ValidationFailed.one(
            "status", gettext("Unknown status %(status)r.") % {"status": status}
        )
    if status not in TRANSITIONS[ticket.status]:
        raise ValidationFailed.one(
            "status",
            gettext("A ticket cannot go from %(status)s to %(status2)s.")
            % {
                "status": Status(ticket.status).label.lower(),
                "status2": Status(status).label.lower(),
            },
        )


@tenant_atomic
def ticket_change_status(
    *,
    organization: Organization,
    actor: User,
    ticket: Ticket,
    status: str,
    version: int | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> Ticket:
    ensure_can_view_ticket(actor, ticket)
    current = _locked(ticket, version)
    if current.status == status:
        return current
    _check_transition(current, status)
    if not is_staff_member(actor) and not customer_may_set_status(current, status):
        raise PermissionDenied(
            gettext("customers cannot set a ticket to %(status)s")
            % {"status": Status(status).label.lower()}
        )
    change = {"status": (current.status, status)}
    with events.announce(events.TICKET_UPDATED, organization, actor, current, **change):
        when = _now() if at is None else _past(at, not_before=current.created_at)
        fields = _apply_status(current, status, reason=reason, at=when)
        with happened_at(at):
            _save(current, fields)
    return current


def _apply_status(ticket: Ticket, status: str, *, reason: str, at: datetime) -> set[str]:
    """Set the status and what follows from it: timestamps and the SLA clock."""
    previous, ticket.status = ticket.status, status
    fields = {"status"}
    if previous == Status.PENDING:
        fields.update(sla.sla_resume(ticket, at=at))
    if status == Status.PENDING:
        fields.update(sla.sla_pause(ticket, reason=reason or "waiting on the customer", at=at))
    elif status == Status.RESOLVED:
        ticket.resolved_at = at
        fields.add("resolved_at")
        fields.update(sla.sla_record_resolution(ticket, at=at))
    elif status == Status.CLOSED:
        ticket.closed_at = at
        fields.add("closed_at")
        if ticket.resolved_at is None:
            ticket.resolved_at = at
            fields.add("resolved_at")
    elif status == Status.OPEN and previous == Status.RESOLVED:
        ticket.resolved_at = None
        fields.add("resolved_at")
    return fields


# ------------------------------------------------------------------ assign
@tenant_atomic
def ticket_assign(
    *,
    organization: Organization,
    actor: User,
    ticket: Ticket,
    assignee: User | None = None,
    auto: bool = False,
    version: int | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Assign by hand (assignee, or None to unassign) or automatically (auto=True)."""
    ensure_staff(actor, gettext("assign tickets"))
    _check_same_tenant(organization, assignee=assignee)
    current = _locked(ticket, version)
    if at is not None:
        _past(at, not_before=current.created_at)
    if auto:
        assignee = routing.pick_agent(organization=organization, ticket=current)
        if assignee is None:
            raise Conflict(
                gettext(
                    "no available agent can take this ticket now (all offline, at their "
                    "limit of concurrent tickets, or lacking the category's skill)"
                ),
                field="assignee",
            )
    elif assignee is not None:
        routing.check_assignable(organization=organization, agent=assignee)
    if current.assignee_id == (assignee.id if assignee else None):
        return current
    change = {"assignee": (current.assignee_id, assignee.id if assignee else None)}
    with events.announce(events.TICKET_UPDATED, organization, actor, current, **change):
        current.assignee = assignee
        with happened_at(at):
            _save(current, {"assignee"})
    return current


@tenant_atomic
def ticket_apply_sla_policy(
    *, organization: Organization, actor: User, ticket: Ticket, policy: Any, reason: str = ""
) -> Ticket:
    """Put an active SLA policy of the organization on the ticket and recompute its due
    times (an automation rule's action, docs/automation.md)."""
    ensure_staff(actor, gettext("apply SLA policies"))
    _check_same_tenant(organization, policy=policy)
    if not policy.is_active:
        raise ValidationFailed.one(
            "policy", gettext("The SLA policy %(name)r is not active.") % {"name": policy.name}
        )
    current = _locked(ticket, None)
    if current.sla_policy_id == policy.id:
        return current
    change = {"sla_policy": (current.sla_policy_id, policy.id)}
    with events.announce(events.TICKET_UPDATED, organization, actor, current, **change):
        why = reason or f"SLA policy {policy.name} applied"
        _save(current, sla.sla_apply_policy(current, policy, reason=why, at=_now()))
    return current


# ------------------------------------------------------------------ conversation
@tenant_atomic
def comment_add(
    *,
    organization: Organization,
    actor: User,
    ticket: Ticket,
    body: str,
    kind: str = CommentKind.PUBLIC,
    body_is_html: bool = False,
    at: datetime | None = None,
    mail_participant: bool = False,
) -> TicketComment:
    """Add a reply or internal note; the first public staff reply is the first response.

    `mail_participant`: the actor wrote by mail as a participant of the ticket (a CC,
    deskbase.mail.Participant, checked by deskbase.mail.ingest): a customer of the
    organization who may add a public reply to a ticket that is not their own.
    """
    if mail_participant and actor.organization_id == organization.id:
        kind = CommentKind.PUBLIC
    else:
        ensure_can_view_ticket(actor, ticket)
    staff = is_staff_member(actor)
    if kind not in (CommentKind.PUBLIC, CommentKind.INTERNAL):
        raise ValidationFailed.one(
            "kind", gettext("Unknown comment kind %(kind)r.") % {"kind": kind}
        )
    if kind == CommentKind.INTERNAL and not staff:
        raise PermissionDenied(gettext("customers cannot write internal notes"))
    text, html = _sanitized_body(body or "", is_html=body_is_html)
    comment = TicketComment(
        organization=organization, ticket=ticket, author=actor, kind=kind,
        body_text=text.strip(), body_html=html,
    )  # fmt: skip
    _validated(comment, exclude=["ticket", "author", "organization"])
    current = _locked(ticket, None)
    if at is not None:
        comment.created_at = comment.updated_at = _past(at, not_before=current.created_at)
    if not takes_replies(current):
        raise Conflict(
            gettext("ticket #%(number)s is %(status)s; open a new ticket")
            % {"number": current.number, "status": Status(current.status).label.lower()}
        )
    with events.announce(events.COMMENT_ADDED, organization, actor, comment):
        comment.save()
        fields = _after_reply(current, comment, staff=staff, at=comment_time(comment))
        # The customer's last public reply (what time rules wait on) is not an edit of the
        # ticket: it does not bump the version an agent's open form holds.
        replied = [] if staff or kind != CommentKind.PUBLIC else ["last_customer_reply_at"]
        if replied:
            current.last_customer_reply_at = comment_time(comment)
        with happened_at(at):
            if fields:
                _save(current, fields | set(replied))
            else:  # the conversation changed: the ticket moves up "recently updated"
                current.updated_at = Now()  # the trigger's time, returned
                current.save(update_fields=["updated_at", *replied])
    return comment


def comment_time(comment: TicketComment) -> datetime:
    if not isinstance(comment.created_at, datetime):  # not returned by the INSERT
        comment.refresh_from_db(fields=["created_at"])
    return comment.created_at


def _after_reply(ticket: Ticket, comment: TicketComment, *, staff: bool, at: datetime) -> set[str]:
    fields: set[str] = set()
    if comment.kind != CommentKind.PUBLIC:
        return fields
    if staff:
        if ticket.first_response_at is None:
            ticket.first_response_at = at
            ticket.time_to_first_response = max(at - ticket.created_at, timedelta(0))
            fields.update({"first_response_at", "time_to_first_response"})
            fields.update(sla.sla_record_first_response(ticket, at=at))
        if ticket.status == Status.NEW:
            fields.update(_apply_status(ticket, Status.OPEN, reason="", at=at))
    elif ticket.status in (Status.PENDING, Status.RESOLVED):
        # The customer answered: the ticket needs an agent again.
        fields.update(_apply_status(ticket, Status.OPEN, reason="", at=at))
    return fields


@tenant_atomic
def csat_record(
    *,
    organization: Organization,
    actor: User,
    ticket: Ticket,
    rating: int,
    comment: str = "",
    at: datetime | None = None,
) -> CsatResponse:
    """The customer rates their resolved ticket, once."""
    if ticket.customer_id != actor.id:
        raise PermissionDenied(gettext("only the ticket's customer may rate it"))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed.one("rating", gettext("Satisfaction is a rating from 1 to 5."))
    current = _locked(ticket, None)
    if not is_rateable(current):
        raise Conflict(gettext("a ticket can be rated once it is resolved"), field="status")
    if CsatResponse.objects.filter(ticket=current).exists():
        raise Conflict(gettext("this ticket has already been rated"), field="rating")
    response = CsatResponse(
        organization=organization,
        ticket=current,
        customer=actor,
        rating=rating,
        comment=comment.strip(),
    )
    if at is not None:
        response.created_at = _past(at, not_before=current.resolved_at)
    with events.announce(events.CSAT_RECORDED, organization, actor, response):
        response.save()
        current.satisfaction = rating
        with happened_at(at):
            _save(current, {"satisfaction"}, bump=False)
    return response


# ------------------------------------------------------------------ merge
@tenant_atomic
def ticket_merge(
    *, organization: Organization, actor: User, source: Ticket, target: Ticket
) -> Ticket:
    """Move the source's conversation into the target; close the source with a link."""
    ensure_staff(actor, gettext("merge tickets"))
    _check_same_tenant(organization, source=source, target=target)
    if source.id == target.id:
        raise ValidationFailed.one("target", gettext("A ticket cannot be merged into itself."))
    locked = lock_tickets([source.id, target.id])
    src, dst = locked[source.id], locked[target.id]
    for ticket, field in ((src, "source"), (dst, "target")):
        if ticket.status in (Status.CLOSED, Status.CANCELLED):
            raise ValidationFailed.one(
                field,
                gettext("Ticket #%(number)s is %(status)s.")
                % {"number": ticket.number, "status": Status(ticket.status).label.lower()},
            )
    with events.announce(
        events.TICKET_MERGED, organization, actor, src, merged_into=(None, dst.id)
    ):
        _move_conversation(organization, actor, src, dst)
        _system_comment(organization, src, f"Merged into ticket #{dst.number}.")
        src.merged_into = dst
        fields = _apply_status(src, Status.CLOSED, reason="merged", at=_now()) | {"merged_into"}
        _save(src, fields)
    return dst


def _move_conversation(organization: Organization, actor: User, src: Ticket, dst: Ticket) -> None:
    """The source's comments, files, history, tags and description go to the target."""
    moved = TicketComment.all_objects.filter(ticket=src)
    loose_files = list(src.attachments.filter(comment__isnull=True).values_list("id", flat=True))
    if src.customer_id != dst.customer_id:
        # Another customer's conversation is for the staff to read on the target, not
        # for the target's customer: its replies and notes become internal notes.
        moved.exclude(kind=CommentKind.INTERNAL).update(kind=CommentKind.INTERNAL)
    moved.update(ticket=dst)
    _recount_last_customer_reply(src.id, dst.id)
    src.attachments.update(ticket=dst)
    _copy_history(src, dst)
    dst.tags = _normalized_tags([*dst.tags, *src.tags])
    _save(dst, {"tags"})
    staff_note = _merge_notes(organization, actor, src, dst)
    if staff_note is not None and loose_files:
        # Files the other customer sent with no reply go with the internal note: hidden alike.
        TicketAttachment.objects.filter(id__in=loose_files).update(comment=staff_note)


def _system_comment(
    organization: Organization, ticket: Ticket, text: str, html: str | None = None
) -> TicketComment:
    return TicketComment.objects.create(
        organization=organization, ticket=ticket, author=None, kind=CommentKind.SYSTEM,
        body_text=text, body_html=text_to_html(text) if html is None else html,
    )  # fmt: skip


def _merge_notes(
    organization: Organization, actor: User, src: Ticket, dst: Ticket
) -> TicketComment | None:
    """Say on the target that the source was merged, with the source's description
    (its comments move, its description would otherwise be lost to the target).

    The description is quoted in the public system note when both tickets are the same
    customer's; another customer's words go to an internal note by the agent who merged,
    so the target's customer is not shown them. Returns that internal note.
    """
    note = f"Ticket #{src.number} ({src.subject}) was merged into this ticket."
    description = src.description.strip()
    same_customer = src.customer_id == dst.customer_id
    if not description and same_customer:
        _system_comment(organization, dst, note)
        return None
    quoted_html = clean_html(src.description_html) or text_to_html(description)
    quoted_text = "\n".join(f"> {line}" for line in html_to_text(quoted_html).splitlines())
    if same_customer:
        intro = f"{note} Its description:"
        _system_comment(organization, dst, f"{intro}\n\n{quoted_text}",
                        f"{text_to_html(intro)}<blockquote>{quoted_html}</blockquote>")  # fmt: skip
        return None
    _system_comment(organization, dst, note)
    customer = src.customer.full_name or src.customer.email
    intro = (
        f"The description of ticket #{src.number} ({src.subject}), from {customer}:"
        if description
        else f"Ticket #{src.number} ({src.subject}), from {customer}, had no description."
    )
    intro += " Its conversation and files are visible to staff only."
    quote = f"<blockquote>{quoted_html}</blockquote>" if description else ""
    return TicketComment.objects.create(
        organization=organization, ticket=dst, author=actor, kind=CommentKind.INTERNAL,
        body_text=f"{intro}\n\n{quoted_text}".strip(), body_html=f"{text_to_html(intro)}{quote}",
    )  # fmt: skip


def _copy_history(source: Ticket, target: Ticket) -> None:
    """History is append-only: the target gets copies, the source keeps its own rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tickets_tickethistory
                (organization_id, ticket_id, actor_id, field, old_value, new_value, created_at)
            SELECT organization_id, %s, actor_id, 'merged #' || %s || ': ' || field,
                   old_value, new_value, created_at
            FROM tickets_tickethistory WHERE ticket_id = %s ORDER BY id
            """,
            [target.id, source.number, source.id],
        )


# ------------------------------------------------------------------ trash
@tenant_atomic
def ticket_soft_delete(
    *, organization: Organization, actor: User, ticket: Ticket, reason: str = ""
) -> Ticket:
    ensure_staff(actor, gettext("delete tickets"))
    current = Ticket.all_objects.select_for_update().get(pk=ticket.pk)
    with events.announce(events.TICKET_SOFT_DELETED, organization, actor, current):
        current.soft_delete(actor, reason)
    return current


@tenant_atomic
def ticket_restore(*, organization: Organization, actor: User, ticket: Ticket) -> Ticket:
    ensure_staff(actor, gettext("restore tickets"))
    current = Ticket.all_objects.select_for_update().get(pk=ticket.pk)
    with events.announce(events.TICKET_RESTORED, organization, actor, current):
        current.restore(actor)
    return current


@tenant_atomic
def purge_trash(
    *, organization: Organization, actor: User | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Hard-delete tickets, comments and canned responses deleted before the retention period.

    History rows of purged tickets go with them (the one DELETE the append-only
    trigger allows: the cascade of the ticket's own deletion).
    """
    from django.conf import settings

    from deskbase.tickets.models import CannedResponse

    cutoff = (now or _now()) - timedelta(days=settings.TRASH_RETENTION_DAYS)
    purged = {}
    with events.announce(events.TRASH_PURGED, organization, actor):
        for label, model in (
            ("comments", TicketComment), ("canned_responses", CannedResponse), ("tickets", Ticket),
        ):  # fmt: skip
            doomed = model.all_objects.filter(organization=organization, deleted_at__lt=cutoff)
            purged[label] = doomed.count()
            if purged[label]:
                doomed.delete()
    return purged


@tenant_atomic
def comment_soft_delete(
    *, organization: Organization, actor: User, comment: TicketComment, reason: str = ""
) -> TicketComment:
    """Hide a comment (staff, or the customer who wrote a public reply)."""
    current = TicketComment.all_objects.select_for_update().get(pk=comment.pk)
    if not is_staff_member(actor) and current.author_id != actor.id:
        raise PermissionDenied(gettext("only staff or the author may delete a comment"))
    with events.announce(events.COMMENT_SOFT_DELETED, organization, actor, current):
        current.soft_delete(actor, reason)
        _recount_last_customer_reply(current.ticket_id)
    return current


@tenant_atomic
def comment_restore(
    *, organization: Organization, actor: User, comment: TicketComment
) -> TicketComment:
    ensure_staff(actor, gettext("restore comments"))
    current = TicketComment.all_objects.select_for_update().get(pk=comment.pk)
    with events.announce(events.COMMENT_RESTORED, organization, actor, current):
        current.restore(actor)
        _recount_last_customer_reply(current.ticket_id)
    return current


_LAST_CUSTOMER_REPLY = """
UPDATE tickets_ticket AS t SET last_customer_reply_at = (
    SELECT max(c.created_at) FROM tickets_ticketcomment AS c
    JOIN accounts_user AS u ON u.id = c.author_id
    WHERE c.organization_id = t.organization_id AND c.ticket_id = t.id
      AND c.kind = 'public' AND c.deleted_at IS NULL AND u.role = 'customer')
WHERE t.id = ANY(%s)
"""


def _recount_last_customer_reply(*ticket_ids: int) -> None:
    """The customers' last public reply again, after comments were hidden, shown or moved."""
    with connection.cursor() as cursor:
        cursor.execute(_LAST_CUSTOMER_REPLY, [list(ticket_ids)])
