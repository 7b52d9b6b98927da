"""The knowledge base: categories -> sections -> articles, per organization.

An article is language-neutral (its section, tags, author); its text lives in one
translation per language, each with its own slug, review state and history. Every
save of a translation appends a revision; `published_revision` points at the one
readers see, so the working draft (the translation's own title and body) can move on
without touching what is published. The migrations add what Django cannot declare:
same-tenant foreign keys, the published revision belonging to its translation,
append-only revisions, search vectors, and the monthly-partitioned view log.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Now
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import (
    SoftDeleteModel,
    TenantModel,
    TimestampedModel,
    choice_constraint,
)

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANGUAGE = r"^[a-z]{2}(-[a-z]{2})?$"
MAX_TAGS = 20


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    CUSTOMERS = "customers", _("Signed-in customers")
    INTERNAL = "internal", _("Internal (staff only)")


class ReviewState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")


class FeedbackReason(models.TextChoices):
    OUTDATED = "outdated", _("It is out of date")
    UNCLEAR = "unclear", _("It is hard to follow")
    INCOMPLETE = "incomplete", _("Something is missing")
    WRONG = "wrong", _("It did not work")
    OTHER = "other", _("Something else")


def _slug_check(table: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(slug__regex=SLUG),
        name=f"{table}_slug_format",
        violation_error_code="slug",
        violation_error_message=_("A slug is lower-case letters and digits joined by hyphens."),
    )


def _not_blank(table: str, field: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=~Q(**{f"{field}__regex": r"^\s*$"}),
        name=f"{table}_{field}_not_blank",
        violation_error_code=field,
        violation_error_message=f"The {field} cannot be empty.",
    )


def _tenant_key(table: str) -> models.UniqueConstraint:
    """(organization_id, id): the target of the same-tenant foreign keys."""
    return models.UniqueConstraint(fields=["organization", "id"], name=f"{table}_org_id")


class Category(TenantModel, TimestampedModel, SoftDeleteModel):
    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=120)
    slug = models.CharField(max_length=80)
    description = models.TextField(blank=True, max_length=2000)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "knowledge_category"
        verbose_name_plural = "categories"
        constraints = [
            _tenant_key("knowledge_category"),
            models.UniqueConstraint(
                fields=["organization", "slug"],
                condition=Q(deleted_at__isnull=True),
                name="knowledge_category_slug_unique",
                violation_error_code="slug",
                violation_error_message=_("A category with this slug already exists."),
            ),
            _slug_check("knowledge_category"),
            _not_blank("knowledge_category", "name"),
        ]


class Section(TenantModel, TimestampedModel, SoftDeleteModel):
    id = models.BigAutoField(primary_key=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="sections")
    name = models.CharField(max_length=120)
    slug = models.CharField(max_length=80)
    description = models.TextField(blank=True, max_length=2000)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "knowledge_section"
        constraints = [
            _tenant_key("knowledge_section"),
            models.UniqueConstraint(
                fields=["organization", "category", "slug"],
                condition=Q(deleted_at__isnull=True),
                name="knowledge_section_slug_unique",
                violation_error_code="slug",
                violation_error_message=_("A section with this slug already exists here."),
            ),
            _slug_check("knowledge_section"),
            _not_blank("knowledge_section", "name"),
            choice_constraint(
                "visibility",
                Visibility,
                name="knowledge_section_visibility_valid",
                message=_("Visibility is public, customers or internal."),
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "category", "position"], name="knowledge_sec_cat")
        ]


class Article(TenantModel, TimestampedModel, SoftDeleteModel):
    """What every translation of one article shares."""

    id = models.BigAutoField(primary_key=True)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="articles")
    language = models.CharField(max_length=5, help_text="the language it was written in")
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "knowledge_article"
        constraints = [
            _tenant_key("knowledge_article"),
            models.CheckConstraint(
                condition=Q(language__regex=LANGUAGE),
                name="knowledge_article_language_format",
                violation_error_code="language",
                violation_error_message=_("A language is a code such as en or pt-br."),
            ),
            models.CheckConstraint(
                condition=Q(tags__len__lte=MAX_TAGS),
                name="knowledge_article_tags_bounded",
                violation_error_code="tags",
                violation_error_message=f"An article has at most {MAX_TAGS} tags.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "section", "id"],
                condition=Q(deleted_at__isnull=True),
                name="knowledge_art_section",
            ),
            models.Index(
                fields=["organization", "updated_at"],
                condition=Q(deleted_at__isnull=True),
                name="knowledge_art_updated",
            ),
        ]


class Translation(TenantModel, TimestampedModel):
    """An article in one language: its working draft, review state and published revision."""

    id = models.BigAutoField(primary_key=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=5)
    title = models.CharField(max_length=200)
    slug = models.CharField(max_length=200)
    body = models.TextField(max_length=200_000, blank=True, help_text="Markdown: the draft")
    review_state = models.CharField(
        max_length=10, choices=ReviewState.choices, default=ReviewState.DRAFT
    )
    published_revision = models.ForeignKey(
        "Revision", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    publish_at = models.DateTimeField(
        null=True, blank=True, help_text="when the worker publishes the draft"
    )

    class Meta:
        db_table = "knowledge_translation"
        constraints = [
            _tenant_key("knowledge_translation"),
            models.UniqueConstraint(
                fields=["organization", "article", "language"],
                name="knowledge_translation_language_unique",
                violation_error_code="language",
                violation_error_message=_(
                    "This article already has a translation in this language."
                ),
            ),
            models.CheckConstraint(
                condition=Q(language__regex=LANGUAGE),
                name="knowledge_translation_language_format",
                violation_error_code="language",
                violation_error_message=_("A language is a code such as en or pt-br."),
            ),
            _slug_check("knowledge_translation"),
            _not_blank("knowledge_translation", "title"),
            choice_constraint(
                "review_state",
                ReviewState,
                name="knowledge_translation_review_state_valid",
                message=_("Review state is draft, in_review or approved."),
            ),
            models.CheckConstraint(
                condition=Q(published_revision__isnull=True, published_at__isnull=True)
                | Q(published_revision__isnull=False, published_at__isnull=False),
                name="knowledge_translation_published_at_iff_published",
                violation_error_code="published_at",
                violation_error_message=_("A published translation has a publication time."),
            ),
        ]
        indexes = [
            models.Index(
                fields=["publish_at"],
                condition=Q(publish_at__isnull=False),
                name="knowledge_tr_scheduled",
            ),
        ]


class Revision(TenantModel):
    """One save of a translation: never changed afterwards (a trigger refuses updates)."""

    id = models.BigAutoField(primary_key=True)
    translation = models.ForeignKey(Translation, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=200_000, blank=True)
    body_html = models.TextField(blank=True, help_text="the body rendered and sanitized")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    attachment_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True,
        help_text="the article's attachments the text refers to (attachment:<id>)",
    )  # fmt: skip
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "knowledge_revision"
        constraints = [
            _tenant_key("knowledge_revision"),
            models.UniqueConstraint(
                fields=["translation", "number"],
                name="knowledge_revision_number_unique",
                violation_error_code="number",
                violation_error_message=_("This revision number is taken."),
            ),
            models.UniqueConstraint(
                fields=["translation", "id"], name="knowledge_revision_translation_id"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="knowledge_revision_number_positive",
                violation_error_code="number",
                violation_error_message=_("Revisions are numbered from 1."),
            ),
        ]


class Feedback(TenantModel):
    """ "Was this helpful?": one answer per visitor and article (a later answer replaces it)."""

    id = models.BigAutoField(primary_key=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=5)
    visitor = models.CharField(max_length=80, help_text="u:<user id> or a:<anonymous cookie>")
    helpful = models.BooleanField()
    reason = models.CharField(max_length=12, choices=FeedbackReason.choices, blank=True)
    comment = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "knowledge_feedback"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "article", "visitor"],
                name="knowledge_feedback_once_per_visitor",
                violation_error_code="visitor",
                violation_error_message=_("This visitor has already rated this article."),
            ),
            models.CheckConstraint(
                condition=Q(helpful=True, reason="")
                | Q(helpful=False, reason__in=FeedbackReason.values),
                name="knowledge_feedback_reason_iff_unhelpful",
                violation_error_code="reason",
                violation_error_message=_("Say why when the article did not help (and only then)."),
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("comment"), 1000),
                name="knowledge_feedback_comment_bounded",
                violation_error_code="comment",
                violation_error_message=_("A comment is at most 1000 characters."),
            ),
        ]
        indexes = [models.Index(fields=["organization", "article"], name="knowledge_fb_article")]


class DeflectionEvent(models.TextChoices):
    SHOWN = "shown", _("Suggested while typing a ticket")
    CLICKED = "clicked", _("Opened from the suggestions")
    SOLVED = "solved", _("This solved it (no ticket)")
    SENT_ANYWAY = "sent_anyway", _("Ticket sent anyway")


class Deflection(TenantModel):
    """What happened to the articles suggested while one customer wrote one new ticket
    (`attempt`: a random token of that form). Each event counts once per attempt and
    article; the deflection rate is attempts solved / attempts shown."""

    id = models.BigAutoField(primary_key=True)
    attempt = models.CharField(max_length=32)
    event = models.CharField(max_length=12, choices=DeflectionEvent.choices)
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The ticket a form became. Not a foreign key: one to tickets_ticket would stop
    # `deskbase generate` from truncating and COPY FREEZE-loading the ticket tables, and
    # a purged ticket should leave the count as it was.
    ticket_id = models.BigIntegerField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "knowledge_deflection"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "attempt", "event", "article"],
                nulls_distinct=False,
                name="knowledge_deflection_once",
                violation_error_code="event",
                violation_error_message=_("This was already recorded."),
            ),
            choice_constraint(
                "event",
                DeflectionEvent,
                name="knowledge_deflection_event_valid",
                message=_("Unknown deflection event."),
            ),
            models.CheckConstraint(
                condition=Q(attempt__regex=r"^[0-9a-f]{32}$"),
                name="knowledge_deflection_attempt_format",
                violation_error_code="attempt",
                violation_error_message=_("Not an attempt of this form."),
            ),
            models.CheckConstraint(
                condition=Q(event="sent_anyway", ticket_id__isnull=False)
                | (~Q(event="sent_anyway") & Q(ticket_id__isnull=True)),
                name="knowledge_deflection_ticket_iff_sent",
                violation_error_code="ticket_id",
                violation_error_message=_("Only a ticket sent anyway names its ticket."),
            ),
        ]
        indexes = [models.Index(fields=["organization", "created_at"], name="knowledge_defl_time")]


class ArticleAttachment(TenantModel):
    """A file of an article (an image shown in it, a download it links to). The bytes
    live in the attachment store shared with tickets (deskbase.tickets.attachments),
    once per content. Markdown refers to it as `attachment:<id>`; each revision keeps
    the ids its text refers to, and readers may download it only when a published
    revision they may read refers to it."""

    id = models.BigAutoField(primary_key=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "knowledge_attachment"
        indexes = [models.Index("organization", "article", "id", name="knowledge_att_article")]
        constraints = [
            _tenant_key("knowledge_attachment"),
            models.CheckConstraint(
                condition=Q(size__gt=0),
                name="knowledge_attachment_size_positive",
                violation_error_code="file",
                violation_error_message=_("An attachment cannot be empty."),
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="knowledge_attachment_sha256_format",
                violation_error_code="sha256",
                violation_error_message=_("Not a sha256 digest."),
            ),
            models.CheckConstraint(
                condition=Q(file_name__regex=r"^[^/\\\x00]+$"),
                name="knowledge_attachment_file_name_safe",
                violation_error_code="file_name",
                violation_error_message=_("A file name cannot contain slashes."),
            ),
        ]
