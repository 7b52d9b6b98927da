"""Tickets and their conversation. Rules live in Meta.constraints and in triggers (migrations)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Greatest, Least, Now
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import SoftDeleteModel, TenantModel, TimestampedModel, choice_constraint


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# The state machine (docs/tickets.md); the trigger tickets_ticket_status_transition
# enforces the same table in PostgreSQL.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(
        {Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED, Status.CANCELLED}
    ),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED, Status.CLOSED, Status.CANCELLED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED, Status.CANCELLED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)
ENDED_STATUSES = (Status.CLOSED, Status.CANCELLED)
# The instants a time rule may wait on, with their index's short name.
TIME_RULE_COLUMNS = (
    ("created_at", "created"), ("updated_at", "updated"),
    ("first_response_due_at", "first_due"), ("resolution_due_at", "resolution_due"),
    ("last_customer_reply_at", "customer_reply"),
)  # fmt: skip


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB = "web", _("Web")
    PORTAL = "portal", _("Portal")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    API = "api", _("API")


class Category(TenantModel, TimestampedModel):
    """A node of the organization's category tree; `skill` routes tickets to agents."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    skill = models.CharField(max_length=60, blank=True)

    class Meta:
        db_table = "tickets_category"
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "parent", "name"],
                nulls_distinct=False,
                name="tickets_category_name_unique_per_parent",
                violation_error_code="name",
                violation_error_message=_("A category with this name already exists here."),
            ),
            models.UniqueConstraint(
                fields=["organization", "id"], name="tickets_category_org_id_unique"
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")),
                name="tickets_category_not_own_parent",
                violation_error_code="parent",
                violation_error_message=_("A category cannot be its own parent."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(TenantModel, TimestampedModel, SoftDeleteModel):
    id = models.BigAutoField(primary_key=True)
    # Allocated per organization by the trigger tickets_ticket_number (0 = allocate).
    number = models.PositiveIntegerField(db_default=0, editable=False)
    subject = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    description_html = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    # Foreign keys covered by a composite index led by organization_id get no index of their own.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        db_index=False,
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        db_index=False,
    )
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy", on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_breach = models.BooleanField(default=False)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)
    time_to_first_response = models.DurationField(null=True, blank=True)
    # The customer's last public reply (tickets.services.comment_add): what time rules on
    # "last customer reply" wait on, read from an index instead of the comments.
    last_customer_reply_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_tickets"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "tickets_ticket"
        indexes = [
            # Agent queues (active tickets) by assignee and by team, newest change first:
            # partial, so a page reads 25 index entries, not every active ticket of an
            # agent to sort them (measured at 1M: 48 ms -> under 1 ms).
            models.Index(
                "organization", "assignee", models.F("updated_at").desc(),
                models.F("id").desc(), name="tickets_queue_assignee",
                condition=Q(deleted_at__isnull=True, status__in=ACTIVE_STATUSES),
            ),
            models.Index(
                "organization", "team", models.F("updated_at").desc(),
                models.F("id").desc(), name="tickets_queue_team",
                condition=Q(deleted_at__isnull=True, status__in=ACTIVE_STATUSES),
            ),
            models.Index(
                "organization", models.F("updated_at").desc(), models.F("id").desc(),
                name="tickets_queue_open",
                condition=Q(deleted_at__isnull=True, status__in=ACTIVE_STATUSES),
            ),
            models.Index(
                "organization", "status", models.F("updated_at").desc(), models.F("id").desc(),
                name="tickets_queue_status", condition=Q(deleted_at__isnull=True),
            ),
            # The queues' sorts by priority and by SLA, "at risk" and the recently
            # updated list of every status are indexed by tickets/0014 and 0015 (SQL:
            # their expressions are the selectors' own).
            # Time rules (automation.timed): the tickets not yet ended, by the instant a
            # rule waits on, so a pass reads its candidates in order from an index.
            *(
                models.Index(
                    "organization", column, "id", name=f"tickets_time_{short}",
                    condition=Q(deleted_at__isnull=True) & ~Q(status__in=ENDED_STATUSES),
                )
                for column, short in TIME_RULE_COLUMNS
            ),
            # A customer's own tickets, most recently changed first (the portal, the API).
            models.Index(
                "organization", "customer", models.F("updated_at").desc(),
                models.F("id").desc(), name="tickets_customer_updated",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                "organization", "customer", models.F("created_at").desc(),
                name="tickets_by_customer",
            ),
            models.Index("organization", "deleted_at", name="tickets_trash",
                         condition=Q(deleted_at__isnull=False)),
            # No GIN index on tags or custom fields: under row-level security their
            # operators (not leakproof) never reach an index; the filters read
            # tickets_tickettag and tickets_ticketfieldvalue (tickets/0019).
        ]  # fmt: skip
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"],
                name="tickets_ticket_number_unique",
                violation_error_code="number",
                violation_error_message=_("This ticket number is taken."),
            ),
            models.UniqueConstraint(
                fields=["organization", "id"], name="tickets_ticket_org_id_unique"
            ),
            choice_constraint(
                "status",
                Status,
                name="tickets_ticket_status_valid",
                message=_("Unknown status."),
            ),
            choice_constraint(
                "priority",
                Priority,
                name="tickets_ticket_priority_valid",
                message=_("Unknown priority."),
            ),
            choice_constraint(
                "channel",
                Channel,
                name="tickets_ticket_channel_valid",
                message=_("Unknown channel."),
            ),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="tickets_ticket_satisfaction_range",
                violation_error_code="satisfaction",
                violation_error_message=_("Satisfaction is a rating from 1 to 5."),
            ),
            models.CheckConstraint(
                condition=Q(time_to_first_response__isnull=True)
                | Q(time_to_first_response__gte="0 seconds"),
                name="tickets_ticket_ttfr_not_negative",
                violation_error_code="time_to_first_response",
                violation_error_message=_("Time to first response cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(updated_at__gte=models.F("created_at")),
                name="tickets_ticket_updated_after_created",
                violation_error_code="updated_at",
                violation_error_message=_("A ticket cannot be updated before it was created."),
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("created_at")),
                name="tickets_ticket_resolved_after_created",
                violation_error_code="resolved_at",
                violation_error_message=_("A ticket cannot be resolved before it was created."),
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=models.F("created_at")),
                name="tickets_ticket_closed_after_created",
                violation_error_code="closed_at",
                violation_error_message=_("A ticket cannot be closed before it was created."),
            ),
            models.CheckConstraint(
                condition=Q(first_response_at__isnull=True)
                | Q(first_response_at__gte=models.F("created_at")),
                name="tickets_ticket_first_response_after_created",
                violation_error_code="first_response_at",
                violation_error_message=_("A ticket cannot be answered before it was created."),
            ),
            models.CheckConstraint(
                condition=Q(number__gt=0),
                name="tickets_ticket_number_positive",
                violation_error_code="number",
                violation_error_message=_("Ticket numbers start at 1."),
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="tickets_ticket_version_positive",
                violation_error_code="version",
                violation_error_message=_("Version starts at 1."),
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")),
                name="tickets_ticket_not_merged_into_itself",
                violation_error_code="merged_into",
                violation_error_message=_("A ticket cannot be merged into itself."),
            ),
            models.CheckConstraint(
                condition=Q(subject__regex=r"\S"),
                name="tickets_ticket_subject_not_blank",
                violation_error_code="subject",
                violation_error_message=_("A ticket needs a subject."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class TicketTag(models.Model):
    """One tag of one ticket that is not in the trash: derived rows, read-only from Python.

    Kept by the trigger tickets_ticket_tags (migration 0016) on every insert, change of
    tags or deleted_at, and delete of a ticket. A tag filter is `tag = %s` on this
    table's primary key: `=` on text is leakproof, so PostgreSQL uses the index under
    row-level security, which it does not for `tags @> ...` (docs/saved-views.md).
    No foreign keys: the rows follow their ticket through the trigger alone.
    """

    pk = models.CompositePrimaryKey("organization_id", "tag", "ticket_id")
    organization_id = models.BigIntegerField()
    tag = models.CharField(max_length=50)
    ticket_id = models.BigIntegerField()

    class Meta:
        db_table = "tickets_tickettag"

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.tag}"


class TicketFieldValue(models.Model):
    """One scalar custom field value of a ticket not in the trash: derived, read-only.

    Kept by the trigger tickets_ticket_field_values (migration 0017) like TicketTag;
    `value` is typed and normalized as `custom_value_keys` spells a filter's value:
    `s:<text>`, `n:<number without trailing zeros>`, `b:true` / `b:false`. Values
    over 200 characters and keys over 100 (longer than any filter) are left out.
    """

    pk = models.CompositePrimaryKey("organization_id", "field", "value", "ticket_id")
    organization_id = models.BigIntegerField()
    field = models.CharField(max_length=100)
    value = models.CharField(max_length=202)
    ticket_id = models.BigIntegerField()

    class Meta:
        db_table = "tickets_ticketfieldvalue"

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.field}={self.value}"


class TicketCounter(models.Model):
    """The last ticket number of each organization (row-locked while a ticket is created)."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "tickets_ticketcounter"


class CommentKind(models.TextChoices):
    PUBLIC = "public", _("Public reply")
    INTERNAL = "internal", _("Internal note")
    SYSTEM = "system", _("System")


class TicketComment(TenantModel, TimestampedModel, SoftDeleteModel):
    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="comments", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=CommentKind.choices, default=CommentKind.PUBLIC)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)

    class Meta:
        db_table = "tickets_ticketcomment"
        indexes = [
            models.Index(
                "organization", "ticket", "created_at", "id", name="tickets_comment_by_ticket"
            ),
        ]
        constraints = [
            choice_constraint(
                "kind",
                CommentKind,
                name="tickets_ticketcomment_kind_valid",
                message=_("Unknown comment kind."),
            ),
            models.CheckConstraint(
                condition=Q(body_text__regex=r"\S"),
                name="tickets_ticketcomment_body_not_blank",
                violation_error_code="body",
                violation_error_message=_("A comment needs a body."),
            ),
            models.CheckConstraint(
                condition=Q(author__isnull=False) | Q(kind=CommentKind.SYSTEM),
                name="tickets_ticketcomment_author_required",
                violation_error_code="author",
                violation_error_message=_("Only system comments have no author."),
            ),
        ]


class TicketAttachment(TenantModel):
    """A file on a ticket; the bytes live once per content under var/media by sha256."""

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="attachments", db_index=False
    )
    comment = models.ForeignKey(
        TicketComment, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    download_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "tickets_ticketattachment"
        indexes = [
            models.Index("organization", "ticket", "id", name="tickets_attachment_by_ticket")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(size__gt=0),
                name="tickets_ticketattachment_size_positive",
                violation_error_code="file",
                violation_error_message=_("An attachment cannot be empty."),
            ),
            models.CheckConstraint(
                condition=Q(download_count__gte=0),
                name="tickets_ticketattachment_downloads_not_negative",
                violation_error_code="download_count",
                violation_error_message=_("Download count cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="tickets_ticketattachment_sha256_format",
                violation_error_code="sha256",
                violation_error_message=_("Not a sha256 digest."),
            ),
            models.CheckConstraint(
                condition=Q(file_name__regex=r"^[^/\\\x00]+$"),
                name="tickets_ticketattachment_file_name_safe",
                violation_error_code="file_name",
                violation_error_message=_("A file name cannot contain slashes."),
            ),
        ]


class TicketHistory(models.Model):
    """One changed field of a ticket. Append-only: PostgreSQL refuses UPDATE and DELETE."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # The composite (organization_id, ticket_id) key of the migration refers to the
    # ticket; history stays readable for users who are gone, so actor has no key.
    ticket = models.ForeignKey(Ticket, on_delete=models.DO_NOTHING, related_name="history",
                               db_constraint=False, db_index=False)  # fmt: skip
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, null=True, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    field = models.CharField(max_length=64)
    old_value = models.TextField(null=True)
    new_value = models.TextField(null=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "tickets_tickethistory"
        indexes = [
            models.Index(
                "organization", "ticket", "created_at", "id", name="tickets_history_by_ticket"
            )
        ]


class CannedResponse(TenantModel, TimestampedModel, SoftDeleteModel):
    """A reusable reply with placeholders; shared when `owner` is empty, else personal."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=120)
    body = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    usage_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "tickets_cannedresponse"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "owner", "name"],
                nulls_distinct=False,
                condition=Q(deleted_at__isnull=True),
                name="tickets_cannedresponse_name_unique",
                violation_error_code="name",
                violation_error_message=_("A canned response with this name already exists."),
            ),
            models.CheckConstraint(
                condition=Q(usage_count__gte=0),
                name="tickets_cannedresponse_usage_not_negative",
                violation_error_code="usage_count",
                violation_error_message=_("Usage count cannot be negative."),
            ),
        ]


class CsatResponse(TenantModel):
    """A customer's rating of a resolved ticket (one per ticket)."""

    id = models.BigAutoField(primary_key=True)
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="csat")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "tickets_csatresponse"
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5),
                name="tickets_csatresponse_rating_range",
                violation_error_code="rating",
                violation_error_message=_("Satisfaction is a rating from 1 to 5."),
            ),
        ]


class LinkKind(models.TextChoices):
    PARENT = "parent", _("Parent of")  # source is the parent of target
    RELATED = "related", _("Related to")


class TicketLink(TenantModel):
    """A link between two tickets of one organization (docs/tickets.md, "Links").

    The database holds the rules: no self link, one link per pair whatever its
    direction or kind, both ends in the link's organization (composite keys,
    migration 0010), one parent per ticket, and no cycle of parents (a trigger that
    serializes parent links per organization, so two concurrent links cannot close
    a cycle between them).
    """

    id = models.BigAutoField(primary_key=True)
    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out",
                               db_index=False)  # fmt: skip
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in",
                               db_index=False)  # fmt: skip
    kind = models.CharField(max_length=16, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+",
        db_index=False,
    )  # fmt: skip
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "tickets_ticketlink"
        indexes = [
            models.Index("organization", "source", name="tickets_link_by_source"),
            models.Index("organization", "target", name="tickets_link_by_target"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=models.F("target")),
                name="tickets_ticketlink_not_self",
                violation_error_code="target",
                violation_error_message=_("A ticket cannot be linked to itself."),
            ),
            models.UniqueConstraint(
                "organization",
                Least("source", "target"),
                Greatest("source", "target"),
                name="tickets_ticketlink_one_per_pair",
                violation_error_code="target",
                violation_error_message=_("These tickets are already linked."),
            ),
            models.UniqueConstraint(
                fields=["organization", "target"],
                condition=Q(kind=LinkKind.PARENT),
                name="tickets_ticketlink_one_parent",
                violation_error_code="target",
                violation_error_message=_("This ticket already has a parent."),
            ),
            choice_constraint(
                "kind",
                LinkKind,
                name="tickets_ticketlink_kind_valid",
                message=_("Unknown link kind."),
            ),
        ]


MAX_ENTRY_MINUTES = 24 * 60


class TimeEntry(TenantModel, TimestampedModel):
    """Time someone worked on a ticket."""

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="time_entries",
                               db_index=False)  # fmt: skip
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+", db_index=False)  # fmt: skip
    minutes = models.PositiveIntegerField()
    note = models.CharField(max_length=500, blank=True)
    billable = models.BooleanField(default=True)
    worked_on = models.DateField()

    class Meta:
        db_table = "tickets_timeentry"
        indexes = [
            models.Index("organization", "ticket", "id", name="tickets_time_by_ticket"),
            # The reports' totals: index-only scans of a date range, per agent or per ticket.
            models.Index(
                "organization",
                "worked_on",
                name="tickets_time_by_day",
                include=["user", "ticket", "minutes", "billable"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gt=0, minutes__lte=MAX_ENTRY_MINUTES),
                name="tickets_timeentry_minutes_range",
                violation_error_code="minutes",
                violation_error_message=_("Minutes are between 1 and 1440 (a day)."),
            ),
        ]


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    SELECT = "select", _("Choice from a list")
    CHECKBOX = "checkbox", _("Checkbox")


class FieldTarget(models.TextChoices):
    TICKET = "ticket", _("Tickets")
    COMPANY = "company", _("Companies")


# A key as it is stored in custom_fields (and filtered on as cf.<key>).
CUSTOM_FIELD_KEY = r"^[a-z][a-z0-9_]{0,39}$"
MAX_FIELD_OPTIONS = 100


class CustomField(TenantModel, TimestampedModel):
    """A typed custom field of tickets or companies, defined per organization.

    Once an organization defines a field for a target, the trigger
    `tickets_custom_fields_valid` (on tickets_ticket and customers_company) refuses
    any changed key that is not defined, or a value of the wrong type (docs/tickets.md).
    An archived field keeps its stored values but takes no new ones.
    """

    id = models.BigAutoField(primary_key=True)
    applies_to = models.CharField(max_length=16, choices=FieldTarget.choices,
                                  default=FieldTarget.TICKET)  # fmt: skip
    key = models.CharField(max_length=40)
    label = models.CharField(max_length=80)
    field_type = models.CharField(max_length=16, choices=FieldType.choices)
    options = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "tickets_customfield"
        constraints = [
            models.UniqueConstraint(
                "organization", "applies_to", "key", name="tickets_customfield_key_unique",
                violation_error_code="key",
                violation_error_message=_("A field with this key already exists."),
            ),
            models.CheckConstraint(
                condition=Q(key__regex=CUSTOM_FIELD_KEY), name="tickets_customfield_key_format",
                violation_error_code="key",
                violation_error_message=_("A key is a lower-case letter, then up to 39 lower-case "
                                          "letters, digits or underscores."),
            ),
            models.CheckConstraint(
                condition=Q(label__regex=r"\S"), name="tickets_customfield_label_not_blank",
                violation_error_code="label", violation_error_message=_("A field needs a label."),
            ),
            choice_constraint("field_type", FieldType, name="tickets_customfield_type_valid",
                              message=_("Unknown field type.")),
            choice_constraint("applies_to", FieldTarget, name="tickets_customfield_target_valid",
                              message=_("A field applies to tickets or companies.")),
            models.CheckConstraint(
                condition=Q(field_type=FieldType.SELECT, options__len__gt=0,
                            options__len__lte=MAX_FIELD_OPTIONS)
                | (~Q(field_type=FieldType.SELECT) & Q(options=[])),
                name="tickets_customfield_options_for_select",
                violation_error_code="options",
                violation_error_message=_("A choice field needs 1 to 100 options; "
                                          "other types none."),
            ),
        ]  # fmt: skip
        indexes = [
            models.Index("organization", "applies_to", "position", name="tickets_customfield_of")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def archived(self) -> bool:
        return self.archived_at is not None
