"""Mailboxes and the messages that passed through them (docs/mail.md).

- `Mailbox`: one support address of an organization, how its mail arrives (IMAP,
  or pushed to `deskbase mail serve` by SMTP/LMTP) and how replies leave (SMTP).
  Passwords and the DKIM key are stored encrypted (deskbase.mail.crypto).
- `InboundMessage`: every message received, once per (organization, mailbox,
  Message-ID hash), with its raw bytes kept in the attachment store (`raw_sha256`)
  so it can be processed again, and the decision taken about it and why.
- `OutboundMessage`: every message sent about a ticket, with the Message-ID that
  replies will name in In-Reply-To/References.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Now
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import SoftDeleteModel, TenantModel, TimestampedModel

# RFC 5322 allows 998 characters per line; a Message-ID longer than that is not one.
MAX_MESSAGE_ID = 998


class Inbound(models.TextChoices):
    NONE = "none", _("Sending only")
    IMAP = "imap", _("IMAP (fetched)")
    PUSH = "push", _("SMTP/LMTP (pushed to deskbase mail serve)")


class Security(models.TextChoices):
    NONE = "none", _("None (loopback or trusted network only)")
    STARTTLS = "starttls", _("STARTTLS")
    TLS = "tls", _("TLS")


class Mailbox(TenantModel, TimestampedModel, SoftDeleteModel):
    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=254)  # the support address; From of replies
    from_name = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)

    inbound = models.CharField(max_length=8, choices=Inbound.choices, default=Inbound.NONE)
    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(null=True, blank=True)
    imap_security = models.CharField(max_length=8, choices=Security.choices, default=Security.TLS)
    imap_username = models.CharField(max_length=255, blank=True)
    imap_password = models.TextField(blank=True, editable=False)  # encrypted
    imap_folder = models.CharField(max_length=255, default="INBOX")
    # Blank: processed messages are flagged (\Seen \Flagged) and stay; else moved there.
    imap_archive_folder = models.CharField(max_length=255, blank=True)
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    imap_last_uid = models.BigIntegerField(default=0, editable=False)

    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(null=True, blank=True)
    smtp_security = models.CharField(
        max_length=8, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(max_length=255, blank=True)
    smtp_password = models.TextField(blank=True, editable=False)  # encrypted

    dkim_domain = models.CharField(max_length=255, blank=True)
    dkim_selector = models.CharField(max_length=63, blank=True)
    dkim_private_key = models.TextField(blank=True, editable=False)  # encrypted PEM

    # The authserv-id of the Authentication-Results header our receiving server adds:
    # the only such header trusted (deskbase.mail.authresults).
    authserv_id = models.CharField(max_length=255, blank=True)

    # What the server last answered when it failed (login refused, unreachable), for
    # the administration and `deskbase jobs status`; blank while it works.
    last_error = models.TextField(blank=True, editable=False)
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "mail_mailbox"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "id"], name="mail_mailbox_org_id_unique"
            ),
            # Global: mail pushed to `deskbase mail serve` is routed by its recipient.
            models.UniqueConstraint(
                Lower("address"),
                condition=Q(deleted_at__isnull=True),
                name="mail_mailbox_address_unique",
                violation_error_code="address",
                violation_error_message=_("This address is already used by a mailbox."),
            ),
            models.CheckConstraint(
                condition=Q(address__regex=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"),
                name="mail_mailbox_address_format",
                violation_error_code="address",
                violation_error_message=_("Enter an e-mail address such as support@example.com."),
            ),
            models.CheckConstraint(
                condition=Q(inbound__in=Inbound.values),
                name="mail_mailbox_inbound_valid",
                violation_error_code="inbound",
                violation_error_message=_("Unknown inbound method."),
            ),
            models.CheckConstraint(
                condition=Q(imap_security__in=Security.values)
                & Q(smtp_security__in=Security.values),
                name="mail_mailbox_security_valid",
                violation_error_code="imap_security",
                violation_error_message=_("Unknown connection security."),
            ),
            models.CheckConstraint(
                condition=~Q(inbound=Inbound.IMAP)
                | (~Q(imap_host="") & Q(imap_port__isnull=False) & ~Q(imap_username="")),
                name="mail_mailbox_imap_complete",
                violation_error_code="imap_host",
                violation_error_message=_("An IMAP mailbox needs a host, a port and a user name."),
            ),
            models.CheckConstraint(
                condition=(Q(imap_port__isnull=True) | Q(imap_port__range=(1, 65535)))
                & (Q(smtp_port__isnull=True) | Q(smtp_port__range=(1, 65535))),
                name="mail_mailbox_ports_valid",
                violation_error_code="imap_port",
                violation_error_message=_("A port is a number from 1 to 65535."),
            ),
            models.CheckConstraint(
                condition=Q(smtp_host="") | Q(smtp_port__isnull=False),
                name="mail_mailbox_smtp_complete",
                violation_error_code="smtp_port",
                violation_error_message=_("An SMTP server needs a port."),
            ),
            models.CheckConstraint(
                condition=(Q(dkim_domain="") & Q(dkim_selector="") & Q(dkim_private_key=""))
                | (~Q(dkim_domain="") & ~Q(dkim_selector="") & ~Q(dkim_private_key="")),
                name="mail_mailbox_dkim_complete",
                violation_error_code="dkim_domain",
                violation_error_message=_("DKIM signing needs a domain, a selector and a key."),
            ),
            models.CheckConstraint(
                condition=Q(imap_last_uid__gte=0),
                name="mail_mailbox_last_uid_not_negative",
                violation_error_code="imap_last_uid",
                violation_error_message=_("The last seen UID cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class Source(models.TextChoices):
    IMAP = "imap"
    PUSH = "push"  # SMTP/LMTP delivery to `deskbase mail serve`
    UPLOAD = "upload"  # a raw message given through the API or a command


class Kind(models.TextChoices):
    """What the classification (deskbase.mail.classify) found before anything acted."""

    NORMAL = "normal"
    LOOP = "loop"
    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    BULK = "bulk"


class InboundState(models.TextChoices):
    TICKET = "ticket", _("Opened a ticket")
    REPLY = "reply", _("Added to a ticket")
    STORED = "stored", _("Kept without action")  # auto-replies, bounces on their message
    REVIEW = "review", _("Waiting for review")
    DROPPED = "dropped", _("Dropped")  # loops: our own mail coming back
    DISCARDED = "discarded", _("Discarded in review")


class ReviewCause(models.TextChoices):
    UNPARSEABLE = "unparseable", _("Could not be read")
    TOO_LARGE = "too_large", _("Too large")
    UNVERIFIED_SENDER = "unverified_sender", _("Sender not verified for an existing ticket")
    NOT_PARTICIPANT = "not_participant", _("Sender is not a participant of the ticket")
    RATE_LIMITED = "rate_limited", _("Too many messages")
    UNKNOWN_SENDER = "unknown_sender", _("Sender cannot open tickets")
    FAILED = "failed", _("Processing failed")


class InboundMessage(TenantModel):
    id = models.BigAutoField(primary_key=True)
    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="+")
    message_id = models.CharField(max_length=MAX_MESSAGE_ID)
    message_id_hash = models.BinaryField(max_length=32)  # sha256 of the normalized id
    raw_sha256 = models.CharField(max_length=64)  # the .eml in the attachment store
    size = models.BigIntegerField()
    source = models.CharField(max_length=8, choices=Source.choices)
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(db_default=Now(), editable=False)
    sender = models.CharField(max_length=254, blank=True)  # From, lower-cased
    subject = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.NORMAL)
    state = models.CharField(max_length=10, choices=InboundState.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    comment = models.ForeignKey(
        "tickets.TicketComment", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    # The decision and its reason, as people read it in the timeline and the review
    # queue: "added to #1234 because In-Reply-To matched reply <...>".
    decision = models.TextField(blank=True)
    review_cause = models.CharField(max_length=20, choices=ReviewCause.choices, blank=True)
    review_expires_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mail_inboundmessage"
        indexes = [
            # Threading: In-Reply-To / References of a new message, within its tenant.
            models.Index("organization", "message_id_hash", name="mail_inbound_by_message_id"),
            models.Index(
                "organization",
                "received_at",
                name="mail_inbound_review",
                condition=Q(state="review"),
            ),
            models.Index("organization", "ticket", name="mail_inbound_by_ticket"),
            # The cap per sender: their messages of the last hour (deskbase.mail.ingest).
            models.Index("organization", "sender", "received_at", name="mail_inbound_by_sender"),
            # The review queue's expiry (deskbase.mail.review.expire_review).
            models.Index(
                "review_expires_at",
                name="mail_inbound_review_expiry",
                condition=Q(state="review"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "id"], name="mail_inboundmessage_org_id_unique"
            ),
            models.UniqueConstraint(
                "organization",
                "mailbox",
                "message_id_hash",
                name="mail_inbound_once",
                violation_error_code="message_id",
                violation_error_message=_("This message was already received by this mailbox."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=InboundState.values),
                name="mail_inbound_state_valid",
                violation_error_code="state",
                violation_error_message=_("Unknown state."),
            ),
            models.CheckConstraint(
                condition=Q(kind__in=Kind.values),
                name="mail_inbound_kind_valid",
                violation_error_code="kind",
                violation_error_message=_("Unknown kind."),
            ),
            models.CheckConstraint(
                condition=Q(source__in=Source.values),
                name="mail_inbound_source_valid",
                violation_error_code="source",
                violation_error_message=_("Unknown source."),
            ),
            models.CheckConstraint(
                condition=(Q(state="review") & ~Q(review_cause=""))
                | (~Q(state="review") & Q(review_cause=""))
                | Q(state="discarded"),
                name="mail_inbound_review_has_cause",
                violation_error_code="review_cause",
                violation_error_message=_("A message in review needs its cause."),
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["ticket", "reply"]) | Q(ticket__isnull=False),
                name="mail_inbound_ticket_when_added",
                violation_error_code="ticket",
                violation_error_message=_("A message that opened or joined a ticket names it."),
            ),
            models.CheckConstraint(
                condition=Q(raw_sha256__regex=r"^[0-9a-f]{64}$"),
                name="mail_inbound_raw_sha256_format",
                violation_error_code="raw_sha256",
                violation_error_message=_("Not a sha256 digest."),
            ),
            models.CheckConstraint(
                condition=Q(size__gt=0),
                name="mail_inbound_size_positive",
                violation_error_code="size",
                violation_error_message=_("A message cannot be empty."),
            ),
            models.CheckConstraint(
                condition=Q(imap_uid__isnull=True) | Q(imap_uidvalidity__isnull=False),
                name="mail_inbound_uid_with_validity",
                violation_error_code="imap_uid",
                violation_error_message=_("An IMAP UID is only meaningful with its UIDVALIDITY."),
            ),
        ]


class OutboundKind(models.TextChoices):
    REPLY = "reply", _("Agent reply")
    RECEIVED = "received", _("Ticket received")
    RESOLVED = "resolved", _("Ticket resolved")
    NOTIFICATION = "notification", _("Notification")


class OutboundState(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # the relay refused it for good, or a bounce came back
    SUPPRESSED = "suppressed"  # not sent: no recipient, or a rate cap (reason in error)


class OutboundMessage(TenantModel):
    id = models.BigAutoField(primary_key=True)
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(
        "tickets.TicketComment", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    kind = models.CharField(max_length=12, choices=OutboundKind.choices)
    message_id = models.CharField(max_length=MAX_MESSAGE_ID)
    message_id_hash = models.BinaryField(max_length=32)
    in_reply_to = models.CharField(max_length=MAX_MESSAGE_ID, blank=True)
    references = models.TextField(blank=True)  # space-separated <ids>, oldest first
    to_addresses = models.JSONField(default=list)
    cc_addresses = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    state = models.CharField(
        max_length=10, choices=OutboundState.choices, default=OutboundState.QUEUED
    )
    error = models.TextField(blank=True)
    bounce = models.ForeignKey(
        InboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mail_outboundmessage"
        indexes = [
            models.Index("organization", "ticket", "id", name="mail_outbound_by_ticket"),
        ]
        constraints = [
            # Threading looks replies up by it; unique also makes a retried send the same mail.
            models.UniqueConstraint(
                "organization",
                "message_id_hash",
                name="mail_outbound_message_id_unique",
                violation_error_code="message_id",
                violation_error_message=_("This Message-ID was already used."),
            ),
            models.CheckConstraint(
                condition=Q(kind__in=OutboundKind.values),
                name="mail_outbound_kind_valid",
                violation_error_code="kind",
                violation_error_message=_("Unknown kind."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=OutboundState.values),
                name="mail_outbound_state_valid",
                violation_error_code="state",
                violation_error_message=_("Unknown state."),
            ),
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True) | ~Q(state="queued"),
                name="mail_outbound_sent_not_queued",
                violation_error_code="sent_at",
                violation_error_message=_("A queued message has not been sent."),
            ),
        ]


class Participant(TenantModel):
    """Someone besides the requester who takes part in a ticket's mail: a CC.

    Replies go to the requester and every participant; a message from a participant
    may add to the ticket (deskbase.mail threading), one from anybody else may not.
    """

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254)  # lower-cased
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "mail_participant"
        constraints = [
            models.UniqueConstraint(
                "organization",
                "ticket",
                "email",
                name="mail_participant_once",
                violation_error_code="email",
                violation_error_message=_("This address already takes part in the ticket."),
            ),
            models.CheckConstraint(
                condition=Q(email__regex=r"^[^@\s<>A-Z]+@[^@\s<>A-Z]+$"),
                name="mail_participant_email_format",
                violation_error_code="email",
                violation_error_message=_("Enter a lower-case e-mail address."),
            ),
        ]


class TemplateKind(models.TextChoices):
    """The customer notifications an organization may word its own way (docs/mail-outbound.md)."""

    RECEIVED = "received", _("Ticket received")
    REPLY = "reply", _("Agent reply")
    RESOLVED = "resolved", _("Ticket resolved")
    AGENT_NOTICE = "agent_notice", _("Agent notification (to staff, docs/notifications.md)")


class MailTemplate(TenantModel, TimestampedModel):
    """An organization's own wording of one notification in one language.

    Without a row the built-in default of deskbase.mail.notices is used.
    """

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=12, choices=TemplateKind.choices)
    language = models.CharField(max_length=8)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=20000)

    class Meta:
        db_table = "mail_template"
        constraints = [
            models.UniqueConstraint(
                "organization",
                "kind",
                "language",
                name="mail_template_once",
                violation_error_code="kind",
                violation_error_message=_("This notice already has a template in this language."),
            ),
            models.CheckConstraint(
                condition=Q(kind__in=TemplateKind.values),
                name="mail_template_kind_valid",
                violation_error_code="kind",
                violation_error_message=_("Unknown notification."),
            ),
            models.CheckConstraint(
                condition=Q(language__regex=r"^[a-z]{2}$"),
                name="mail_template_language_format",
                violation_error_code="language",
                violation_error_message=_("A language is a two-letter code such as en or de."),
            ),
            models.CheckConstraint(
                condition=Q(subject__regex=r"\S") & Q(body__regex=r"\S"),
                name="mail_template_not_blank",
                violation_error_code="body",
                violation_error_message=_("A template needs a subject and a body."),
            ),
        ]
