"""Domain events: the one hook registry of deskbase, and its closed set of names.

A service announces each write with `announce`, around the write:

    with events.announce(events.TICKET_CREATED, organization, actor, ticket):
        ticket.save()

- `before` runs on entry, inside the service's transaction, before writing:
  subscribers may refuse the write by raising `Vetoed` (or any DomainError);
  nothing is written.
- `after` runs when the block ends normally, inside the same transaction:
  subscribers that must be atomic with the write (history, rollups, search
  vectors, audit rows) run here; their failure rolls the write back. Then the
  "commit" subscribers are scheduled with `transaction.on_commit`: they run only
  if the write commits, and their failure is logged without undoing it (cache).
- If the block raises, `after` is not called: the write did not happen.

The block may fill in what is only known once written (`announcement.changes`,
`announcement.instance`); `after` sees it.

Every event name is declared once below with `declare` (name, when, instance
type, changes): announcing, building or subscribing to an undeclared name raises
`UndeclaredEvent`, so a typo fails at import instead of never firing.
docs/events.md documents each declared event (tests/core/test_events.py checks it).
Names: `<noun>.<verb>`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from django.apps import apps
from django.db import transaction

logger = logging.getLogger(__name__)
Phase = Literal["before", "after", "commit"]
PHASES: tuple[Phase, ...] = ("before", "after", "commit")
Handler = Callable[["Event"], None]


class UndeclaredEvent(LookupError):
    """An event name that `declare` never declared: a programming error."""


# ------------------------------------------------------------------ declarations
@dataclass(frozen=True)
class Declaration:
    """One event of the closed set: its name and the payload it carries."""

    name: str
    when: str  # the services that announce it
    instance: str | None  # "app_label.Model" of Event.instance; None: no instance
    changes: str = ""  # the keys of Event.changes (field -> (old, new)); "" for none

    def __str__(self) -> str:
        return self.name

    @property
    def model(self) -> type | None:
        return _model(self.instance) if self.instance else None


_declared: dict[str, Declaration] = {}


def declare(name: str, *, when: str, instance: str | None, changes: str = "") -> Declaration:
    """Declare an event once; declaring a name twice is an error."""
    if name in _declared:
        raise ValueError(f"event {name!r} is already declared")
    if name.count(".") != 1:
        raise ValueError(f"event names are <noun>.<verb>, not {name!r}")
    declaration = Declaration(name=name, when=when, instance=instance, changes=changes)
    _declared[name] = declaration
    return declaration


def declared() -> Mapping[str, Declaration]:
    """Every declared event by name."""
    return dict(_declared)


def declaration(name: str | Declaration) -> Declaration:
    """The declaration of `name`; UndeclaredEvent if there is none."""
    found = _declared.get(str(name))
    if found is None:
        raise UndeclaredEvent(
            f"event {str(name)!r} is not declared (deskbase.core.events); known: "
            + ", ".join(sorted(_declared))
        )
    return found


@cache
def _model(label: str) -> type:
    return apps.get_model(label)


# The closed set. `when` names the services; docs/events.md says more about each.
TICKET_CREATED = declare("ticket.created", when="ticket_create", instance="tickets.Ticket")
TICKET_UPDATED = declare(
    "ticket.updated",
    when="ticket_update, ticket_change_status, ticket_assign, ticket_apply_sla_policy",
    instance="tickets.Ticket",
    changes="the fields that changed (assignee as ids)",
)
TICKET_MERGED = declare(
    "ticket.merged", when="ticket_merge", instance="tickets.Ticket", changes="merged_into"
)
TICKET_SOFT_DELETED = declare(
    "ticket.soft_deleted", when="ticket_soft_delete", instance="tickets.Ticket"
)
TICKET_RESTORED = declare("ticket.restored", when="ticket_restore", instance="tickets.Ticket")
COMMENT_ADDED = declare("comment.added", when="comment_add", instance="tickets.TicketComment")
COMMENT_SOFT_DELETED = declare(
    "comment.soft_deleted", when="comment_soft_delete", instance="tickets.TicketComment"
)
COMMENT_RESTORED = declare(
    "comment.restored", when="comment_restore", instance="tickets.TicketComment"
)
ATTACHMENT_ADDED = declare(
    "attachment.added", when="attachment_add", instance="tickets.TicketAttachment"
)
CSAT_RECORDED = declare("csat.recorded", when="csat_record", instance="tickets.CsatResponse")
TRASH_PURGED = declare("trash.purged", when="purge_trash", instance=None)
CANNED_RESPONSE_CREATED = declare(
    "canned_response.created", when="canned_response_create", instance="tickets.CannedResponse"
)
CANNED_RESPONSE_UPDATED = declare(
    "canned_response.updated",
    when="canned_response_update",
    instance="tickets.CannedResponse",
    changes="name, body (those that changed)",
)
CANNED_RESPONSE_SOFT_DELETED = declare(
    "canned_response.soft_deleted",
    when="canned_response_delete",
    instance="tickets.CannedResponse",
)
USER_CREATED = declare("user.created", when="user_create", instance="accounts.User")
USER_UPDATED = declare(
    "user.updated",
    when="user_update",
    instance="accounts.User",
    changes="the profile fields that changed",
)
USER_SOFT_DELETED = declare("user.soft_deleted", when="user_soft_delete", instance="accounts.User")
USER_RESTORED = declare("user.restored", when="user_restore", instance="accounts.User")
TOKEN_CREATED = declare("token.created", when="token_create", instance="accounts.ApiToken")
TOKEN_REVOKED = declare("token.revoked", when="token_revoke", instance="accounts.ApiToken")
SLA_POLICY_CREATED = declare(
    "sla_policy.created", when="sla_policy_create", instance="sla.SlaPolicy"
)
SLA_POLICY_UPDATED = declare(
    "sla_policy.updated",
    when="sla_policy_update",
    instance="sla.SlaPolicy",
    changes="the fields that changed",
)
SLA_POLICY_DEACTIVATED = declare(
    "sla_policy.deactivated",
    when="sla_policy_deactivate",
    instance="sla.SlaPolicy",
    changes="is_active",
)
SLA_AT_RISK = declare(
    "sla.at_risk",
    when="mark_breaches",
    instance="sla.SlaAlert",
)
SLA_BREACHED = declare(
    "sla.breached",
    when="mark_breaches",
    instance="sla.SlaAlert",
)
MAILBOX_CREATED = declare("mailbox.created", when="mailbox_create", instance="mail.Mailbox")
MAILBOX_UPDATED = declare(
    "mailbox.updated",
    when="mailbox_update",
    instance="mail.Mailbox",
    changes="the fields that changed; secrets as (secret), never their values",
)
MAILBOX_SOFT_DELETED = declare(
    "mailbox.soft_deleted", when="mailbox_soft_delete", instance="mail.Mailbox"
)
ORGANIZATION_UPDATED = declare(
    "organization.updated",
    when="organization_settings_update",
    instance="organizations.Organization",
    changes="name, timezone, business_hours, settings, sign-in rules (those that changed)",
)
MAIL_RECEIVED = declare(
    "mail.received",
    when="receive, reprocess",
    instance="mail.InboundMessage",
)
MAIL_REVIEWED = declare(
    "mail.reviewed",
    when="review_assign, review_discard",
    instance="mail.InboundMessage",
    changes="state",
)

COMPANY_CREATED = declare("company.created", when="company_create", instance="customers.Company")
COMPANY_UPDATED = declare(
    "company.updated",
    when="company_update",
    instance="customers.Company",
    changes="name, tier, notes, custom_fields, domains (those that changed)",
)
COMPANY_DELETED = declare("company.deleted", when="company_delete", instance="customers.Company")
TICKET_LINK_ADDED = declare(
    "ticket_link.added", when="link_add, ticket_split", instance="tickets.TicketLink"
)
TICKET_LINK_REMOVED = declare(
    "ticket_link.removed", when="link_remove", instance="tickets.TicketLink"
)
TICKET_SPLIT = declare(
    "ticket.split", when="ticket_split", instance="tickets.Ticket", changes="split_from"
)
TIME_ENTRY_ADDED = declare("time_entry.added", when="time_entry_add", instance="tickets.TimeEntry")
TIME_ENTRY_UPDATED = declare(
    "time_entry.updated",
    when="time_entry_update",
    instance="tickets.TimeEntry",
    changes="minutes, worked_on, note, billable (those that changed)",
)
TIME_ENTRY_DELETED = declare(
    "time_entry.deleted", when="time_entry_delete", instance="tickets.TimeEntry"
)

ARTICLE_REVISED = declare(
    "article.revised",
    when="article_create, translation_save, revision_restore",
    instance="knowledge.Translation",
)
ARTICLE_PUBLISHED = declare(
    "article.published",
    when="translation_publish, translation_unpublish",
    instance="knowledge.Translation",
    changes="published_revision (old and new revision ids)",
)
ARTICLE_SOFT_DELETED = declare(
    "article.soft_deleted", when="article_delete", instance="knowledge.Article"
)
ARTICLE_RESTORED = declare("article.restored", when="article_restore", instance="knowledge.Article")
ARTICLE_UPDATED = declare(
    "article.updated",
    when="article_update",
    instance="knowledge.Article",
    changes="section_id, tags (those that changed)",
)
ARTICLE_REVIEWED = declare(
    "article.reviewed",
    when="translation_review",
    instance="knowledge.Translation",
    changes="review_state",
)
ARTICLE_RATED = declare("article.rated", when="feedback_record", instance="knowledge.Feedback")
ARTICLE_ATTACHMENT_ADDED = declare(
    "article_attachment.added",
    when="article_attachment_add",
    instance="knowledge.ArticleAttachment",
)
KB_CATEGORY_CREATED = declare(
    "kb_category.created", when="category_create", instance="knowledge.Category"
)
KB_CATEGORY_UPDATED = declare(
    "kb_category.updated",
    when="category_update",
    instance="knowledge.Category",
    changes="name, slug, description, position (those that changed)",
)
KB_CATEGORY_SOFT_DELETED = declare(
    "kb_category.soft_deleted", when="category_delete", instance="knowledge.Category"
)
KB_SECTION_CREATED = declare(
    "kb_section.created", when="section_create", instance="knowledge.Section"
)
KB_SECTION_UPDATED = declare(
    "kb_section.updated",
    when="section_update",
    instance="knowledge.Section",
    changes="name, slug, description, visibility, position, category_id (those that changed)",
)
KB_SECTION_SOFT_DELETED = declare(
    "kb_section.soft_deleted", when="section_delete", instance="knowledge.Section"
)


# ------------------------------------------------------------------ events
@dataclass(frozen=True)
class Event:
    name: str
    organization_id: int
    actor_id: int | None
    instance: Any = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A declared name, and the instance its declaration names (the payload's contract).
        declared_as = declaration(self.name)
        object.__setattr__(self, "name", declared_as.name)
        model = declared_as.model
        if model is None:
            if self.instance is not None:
                raise TypeError(f"{self.name} carries no instance")
        elif not isinstance(self.instance, model):
            raise TypeError(
                f"{self.name}: instance must be {declared_as.instance}, "
                f"not {type(self.instance).__name__}"
            )


def event(
    name: str | Declaration,
    organization: Any,
    actor: Any = None,
    instance: Any = None,
    /,
    **changes: Any,
) -> Event:
    """The event a service announces: who did `name` to `instance`, in which organization."""
    return Event(
        name=str(name),
        organization_id=organization.id,
        actor_id=actor.id if actor else None,
        instance=instance,
        changes=changes,
    )


@dataclass
class Announcement:
    """A write being announced; the block may set `instance` and `changes` for `after`."""

    name: str
    organization_id: int
    actor_id: int | None
    instance: Any = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def event(self) -> Event:
        return Event(
            name=self.name,
            organization_id=self.organization_id,
            actor_id=self.actor_id,
            instance=self.instance,
            changes=dict(self.changes),
        )


@contextmanager
def announce(
    name: str | Declaration,
    organization: Any,
    actor: Any = None,
    instance: Any = None,
    /,
    **changes: Any,
) -> Iterator[Announcement]:
    """`before` on entry, `after` (and the commit subscribers) when the block ends normally.

    When the block raises, nothing more is announced: the exception propagates and
    the service's transaction rolls back.
    """
    announcement = Announcement(
        name=declaration(name).name,
        organization_id=organization.id,
        actor_id=actor.id if actor else None,
        instance=instance,
        changes=changes,
    )
    before(announcement.event)
    yield announcement
    after(announcement.event)


# ------------------------------------------------------------------ subscribers
_subscribers: dict[tuple[str, Phase], list[Handler]] = defaultdict(list)


def subscribe(name: str | Declaration, phase: Phase = "after") -> Callable[[Handler], Handler]:
    """Decorator: call the handler for every event `name` in the given phase.

    An undeclared name raises UndeclaredEvent here, when the subscribing module loads.
    """
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    key = (declaration(name).name, phase)

    def register(handler: Handler) -> Handler:
        if handler not in _subscribers[key]:
            _subscribers[key].append(handler)
        return handler

    return register


def unsubscribe(name: str | Declaration, handler: Handler, phase: Phase = "after") -> None:
    _subscribers[(declaration(name).name, phase)].remove(handler)


def before(event: Event) -> None:
    """Run the before-subscribers: any of them may refuse the write by raising."""
    for handler in list(_subscribers[(event.name, "before")]):
        handler(event)


def after(event: Event) -> None:
    """Run the after-subscribers now and schedule the commit-subscribers."""
    for handler in list(_subscribers[(event.name, "after")]):
        handler(event)
    for handler in list(_subscribers[(event.name, "commit")]):
        transaction.on_commit(_guarded(handler, event))


@contextmanager
def announce_each(announced: list[Event]) -> Iterator[list[Event]]:
    """`announce` for many writes done in one statement (a bulk action's chunk):
    `before` for each event on entry, `after_each` when the block ends normally. The
    events' instances are the written objects: the block updates them (version)."""
    for event in announced:
        before(event)
    yield announced
    after_each(announced)


def after_each(announced: list[Event]) -> None:
    """`after` for many events written together (a bulk action's chunk, in one
    statement): each subscriber sees every event, as it would one by one, but a
    subscriber that has a `many` attribute (see `for_many`) takes the events of a
    name at once, so it can read what it needs once and write its rows in one
    INSERT. Subscribers run one after the other over all the events, rather than
    all subscribers per event."""
    by_name: dict[str, list[Event]] = defaultdict(list)
    for event in announced:
        by_name[event.name].append(event)
    for name, group in by_name.items():
        for handler in list(_subscribers[(name, "after")]):
            many = getattr(handler, "many", None)
            if many is not None:
                many(group)
            else:
                for event in group:
                    handler(event)
        for event in group:
            for handler in list(_subscribers[(name, "commit")]):
                transaction.on_commit(_guarded(handler, event))


def for_many(many: Callable[[list[Event]], None]) -> Callable[[Handler], Handler]:
    """Decorator: give a subscriber the version of itself that `after_each` calls with
    all the events of a chunk; it must do exactly what the subscriber does for each."""

    def attach(handler: Handler) -> Handler:
        handler.many = many  # type: ignore[attr-defined]  # read by after_each
        return handler

    return attach


def _guarded(handler: Handler, event: Event) -> Callable[[], None]:
    def run() -> None:
        try:
            handler(event)
        except Exception:
            logger.exception(
                "on-commit subscriber %s failed for %s", handler.__qualname__, event.name
            )

    return run
