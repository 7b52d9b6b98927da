"""Every write of the knowledge base.

Staff (agents, managers, admins) write: structure, articles, drafts, translations.
Publishing and approving are for managers and admins; an agent sends a draft for
review. Every save of a translation appends a revision; publishing points the
translation at one revision, so readers keep the published text while the draft moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core import events
from deskbase.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.core.updates import model_update
from deskbase.knowledge.models import (
    MAX_TAGS,
    Article,
    ArticleAttachment,
    Category,
    Deflection,
    DeflectionEvent,
    Feedback,
    FeedbackReason,
    ReviewState,
    Revision,
    Section,
    Translation,
)
from deskbase.knowledge.rendering import IMAGE_TYPES, FileLink, references, render_markdown, slug_of
from deskbase.organizations.models import Organization
from deskbase.tickets.attachments import Readable, sanitize_file_name, store
from deskbase.tickets.permissions import ensure_staff

PUBLISHERS = (Role.ADMIN, Role.MANAGER)


def ensure_publisher(user: User | None, action: str) -> None:
    if user is None:
        return  # the worker publishing what a publisher scheduled
    ensure_staff(user, action)
    if user.role not in PUBLISHERS:
        raise PermissionDenied(
            gettext("only managers and admins may %(action)s") % {"action": action}
        )


def _clean_tags(tags: Sequence[str]) -> list[str]:
    """Lower case, trimmed, each once, in the given order; bounded in number and length."""
    seen: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValidationFailed.one("tags", gettext("Tags are text."))
        value = " ".join(tag.lower().split())
        if len(value) > 50:
            raise ValidationFailed.one("tags", gettext("A tag is at most 50 characters."))
        if value and value not in seen:
            seen.append(value)
    if len(seen) > MAX_TAGS:
        raise ValidationFailed.one(
            "tags", gettext("An article has at most %(max_tags)s tags.") % {"max_tags": MAX_TAGS}
        )
    return seen


def _text(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed.one(
            field, gettext("The %(field)s cannot be empty.") % {"field": field}
        )
    return text


# ------------------------------------------------------------------ structure
def _live(model: Any, organization: Organization, pk: int, *, field: str, lock: bool = False):
    rows = model.objects.filter(organization_id=organization.id, pk=pk)
    if lock:
        rows = rows.select_for_update()
    found = rows.first()
    if found is None:
        raise NotFound(gettext("no such %(field)s") % {"field": field}, field=field)
    return found


@tenant_atomic
def category_create(
    *, organization: Organization, actor: User, name: str, slug: str = "",
    description: str = "", position: int = 0,
) -> Category:  # fmt: skip
    ensure_staff(actor, gettext("manage the knowledge base"))
    name = _text(name, "name")
    category = Category(
        organization=organization, name=name, slug=(slug or slug_of(name)).strip(),
        description=(description or "").strip(), position=position,
    )  # fmt: skip
    validated(category)
    with events.announce(events.KB_CATEGORY_CREATED, organization, actor, category):
        category.save()
    return category


@tenant_atomic
def category_update(
    *, organization: Organization, actor: User, category_id: int, **changes: Any
) -> Category:
    """name, slug, description, position; None leaves a field as it is."""
    ensure_staff(actor, gettext("manage the knowledge base"))
    current = _live(Category, organization, category_id, field="category", lock=True)
    data = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items() if v is not None}
    update = model_update(current, fields=("name", "slug", "description", "position"), data=data)
    if update:
        validated(current)
        with events.announce(
            events.KB_CATEGORY_UPDATED, organization, actor, current, **update.changes
        ):
            update.save()
    return current


@tenant_atomic
def category_delete(*, organization: Organization, actor: User, category_id: int) -> Category:
    """Soft delete; refused while a live section is in it (move or delete those first)."""
    ensure_staff(actor, gettext("manage the knowledge base"))
    current = _live(Category, organization, category_id, field="category", lock=True)
    if Section.objects.filter(organization_id=organization.id, category_id=current.pk).exists():
        raise Conflict(gettext("this category still has sections"), field="category")
    with events.announce(events.KB_CATEGORY_SOFT_DELETED, organization, actor, current):
        current.soft_delete(actor)
    return current


@tenant_atomic
def section_create(
    *, organization: Organization, actor: User, category_id: int, name: str, slug: str = "",
    description: str = "", visibility: str = "public", position: int = 0,
) -> Section:  # fmt: skip
    ensure_staff(actor, gettext("manage the knowledge base"))
    category = Category.objects.filter(organization_id=organization.id, pk=category_id).first()
    if category is None:
        raise ValidationFailed.one("category", gettext("No such category here."))
    name = _text(name, "name")
    section = Section(
        organization=organization, category=category, name=name,
        slug=(slug or slug_of(name)).strip(), description=(description or "").strip(),
        visibility=visibility, position=position,
    )  # fmt: skip
    validated(section)
    with events.announce(events.KB_SECTION_CREATED, organization, actor, section):
        section.save()
    return section


@tenant_atomic
def section_update(
    *, organization: Organization, actor: User, section_id: int, **changes: Any
) -> Section:
    """name, slug, description, visibility, position, category_id; None: unchanged."""
    ensure_staff(actor, gettext("manage the knowledge base"))
    current = _live(Section, organization, section_id, field="section", lock=True)
    data = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items() if v is not None}
    if (
        "category_id" in data
        and not Category.objects.filter(
            organization_id=organization.id, pk=data["category_id"]
        ).exists()
    ):
        raise ValidationFailed.one("category", gettext("No such category here."))
    fields = ("name", "slug", "description", "visibility", "position", "category_id")
    update = model_update(current, fields=fields, data=data)
    if update:
        validated(current)
        with events.announce(
            events.KB_SECTION_UPDATED, organization, actor, current, **update.changes
        ):
            update.save()
    return current


@tenant_atomic
def section_delete(*, organization: Organization, actor: User, section_id: int) -> Section:
    """Soft delete; refused while a live article is in it."""
    ensure_staff(actor, gettext("manage the knowledge base"))
    current = _live(Section, organization, section_id, field="section", lock=True)
    if Article.objects.filter(organization_id=organization.id, section_id=current.pk).exists():
        raise Conflict(gettext("this section still has articles"), field="section")
    with events.announce(events.KB_SECTION_SOFT_DELETED, organization, actor, current):
        current.soft_delete(actor)
    return current


# ------------------------------------------------------------------ articles
def _section(organization: Organization, section_id: int) -> Section:
    found = Section.objects.filter(organization_id=organization.id, pk=section_id).first()
    if found is None:
        raise ValidationFailed.one("section", gettext("No such section here."))
    return found


def file_url(org_slug: str, attachment: ArticleAttachment) -> str:
    """The help center address of an article's file (what `attachment:<id>` becomes)."""
    return reverse("web:help_attachment", args=[org_slug, attachment.pk, attachment.file_name])


def _files(translation: Translation) -> dict[int, FileLink]:
    """The article's files the draft refers to, checked: each is one of this article's,
    and what is shown as an image is one. No query when the text refers to none."""
    refs = references(translation.body)
    if not refs:
        return {}
    wanted = {ref.attachment_id for ref in refs}
    found = {
        row.pk: row
        for row in ArticleAttachment.objects.filter(
            organization_id=translation.organization_id,
            article_id=translation.article_id,
            pk__in=wanted,
        )
    }
    for ref in refs:
        row = found.get(ref.attachment_id)
        if row is None:
            raise ValidationFailed.one(
                "body",
                gettext(
                    "attachment:%(attachment_id)s is not a file of this article: upload it "
                    "to the article first, then use the reference shown beside it."
                )
                % {"attachment_id": ref.attachment_id},
            )
        if ref.image and row.content_type not in IMAGE_TYPES:
            raise ValidationFailed.one(
                "body",
                gettext(
                    "attachment:%(pk)s (%(file_name)s) is not an image (PNG, JPEG, GIF or "
                    "WebP): link to it with [text](attachment:%(pk)s) instead."
                )
                % {"pk": row.pk, "file_name": row.file_name},
            )
    org = Organization.objects.filter(pk=translation.organization_id).values_list("slug")
    slug = org.get()[0]
    return {pk: FileLink(file_url(slug, row), row.content_type) for pk, row in found.items()}


def _append_revision(translation: Translation, actor: User | None, note: str = "") -> Revision:
    """A new revision holding the translation's draft as it is now, with the files its
    text refers to."""
    last = translation.revisions.aggregate(n=Max("number"))["n"] or 0
    files = _files(translation)
    revision = Revision(
        organization_id=translation.organization_id, translation=translation, number=last + 1,
        title=translation.title, body=translation.body,
        body_html=render_markdown(translation.body, files), attachment_ids=sorted(files),
        author=actor, note=note[:200],
    )  # fmt: skip
    revision.save()
    return revision


@tenant_atomic
def article_create(
    *, organization: Organization, actor: User, section_id: int, title: str, body: str,
    language: str = "en", tags: Sequence[str] = (), slug: str = "",
) -> Translation:  # fmt: skip
    """An article with its first translation (in `language`) and that translation's
    first revision, as a draft: nothing is published yet."""
    ensure_staff(actor, gettext("write knowledge base articles"))
    section = _section(organization, section_id)
    article = Article(
        organization=organization, section=section, language=(language or "").strip().lower(),
        tags=_clean_tags(tags), author=actor,
    )  # fmt: skip
    validated(article)
    article.save()
    translation = _new_translation(organization, article, article.language, title, body, slug)
    with events.announce(events.ARTICLE_REVISED, organization, actor, translation):
        _append_revision(translation, actor)
    return translation


def _new_translation(
    organization: Organization, article: Article, language: str, title: str, body: str, slug: str
) -> Translation:
    title = _text(title, "title")
    translation = Translation(
        organization=organization, article=article, language=(language or "").strip().lower(),
        title=title, slug=(slug or slug_of(title)).strip(), body=body or "",
    )  # fmt: skip
    validated(translation, exclude=["published_revision"])
    translation.save()
    return translation


def _translation(
    organization: Organization, article_id: int, language: str, *, lock: bool = True
) -> Translation:
    rows = Translation.objects.filter(
        organization_id=organization.id, article_id=article_id, language=language,
        article__deleted_at__isnull=True,
    )  # fmt: skip
    if lock:
        rows = rows.select_for_update(of=("self",))
    found = rows.first()
    if found is None:
        raise NotFound(
            gettext("no %(language)s translation of article %(article_id)s")
            % {"language": language, "article_id": article_id},
            field="language",
        )
    return found


@tenant_atomic
def translation_save(
    *, organization: Organization, actor: User, article_id: int, language: str,
    title: str | None = None, body: str | None = None, slug: str | None = None, note: str = "",
) -> Translation:  # fmt: skip
    """Save the draft of one translation, creating it when the article has none in
    `language` (then title is required). A change appends a revision and sends an
    approved draft back to draft: what is approved is what a reviewer read."""
    ensure_staff(actor, gettext("write knowledge base articles"))
    article = Article.objects.filter(organization_id=organization.id, pk=article_id).first()
    if article is None:
        raise NotFound(
            gettext("no article %(article_id)s") % {"article_id": article_id}, field="article"
        )
    language = (language or "").strip().lower()
    existing = (
        Translation.objects.select_for_update()
        .filter(organization_id=organization.id, article_id=article.pk, language=language)
        .first()
    )
    if existing is None:
        translation = _new_translation(
            organization, article, language, title or "", body or "", slug or ""
        )
        with events.announce(events.ARTICLE_REVISED, organization, actor, translation):
            _append_revision(translation, actor, note)
        return translation
    data: dict[str, Any] = {}
    if title is not None:
        data["title"] = _text(title, "title")
    if body is not None:
        data["body"] = body
    if slug is not None:
        data["slug"] = slug.strip() or slug_of(data.get("title", existing.title))
    update = model_update(existing, fields=("title", "body", "slug"), data=data)
    if not update:
        return existing
    if existing.review_state == ReviewState.APPROVED:
        existing.review_state = ReviewState.DRAFT
        update.changes["review_state"] = (ReviewState.APPROVED, ReviewState.DRAFT)
    validated(existing, exclude=["published_revision"])
    with events.announce(events.ARTICLE_REVISED, organization, actor, existing, **update.changes):
        update.save()
        if "title" in update.changes or "body" in update.changes:
            _append_revision(existing, actor, note)
    return existing


@tenant_atomic
def article_update(
    *, organization: Organization, actor: User, article_id: int,
    section_id: int | None = None, tags: Sequence[str] | None = None,
) -> Article:  # fmt: skip
    """Move an article or retag it; None leaves a field as it is."""
    ensure_staff(actor, gettext("write knowledge base articles"))
    current = _live(Article, organization, article_id, field="article", lock=True)
    data: dict[str, Any] = {}
    if section_id is not None:
        data["section_id"] = _section(organization, section_id).pk
    if tags is not None:
        data["tags"] = _clean_tags(tags)
    update = model_update(current, fields=("section_id", "tags"), data=data)
    if update:
        validated(current)
        with events.announce(
            events.ARTICLE_UPDATED, organization, actor, current, **update.changes
        ):
            update.save()
    return current


@tenant_atomic
def article_delete(
    *, organization: Organization, actor: User, article_id: int, reason: str = ""
) -> Article:
    """Soft delete: readers no longer find it; staff may restore it."""
    ensure_staff(actor, gettext("delete knowledge base articles"))
    current = _live(Article, organization, article_id, field="article", lock=True)
    with events.announce(events.ARTICLE_SOFT_DELETED, organization, actor, current):
        current.soft_delete(actor, reason)
    return current


@tenant_atomic
def article_restore(*, organization: Organization, actor: User, article_id: int) -> Article:
    ensure_staff(actor, gettext("restore knowledge base articles"))
    current = (
        Article.all_objects.select_for_update()
        .filter(organization_id=organization.id, pk=article_id, deleted_at__isnull=False)
        .first()
    )
    if current is None:
        raise NotFound(
            gettext("no deleted article %(article_id)s") % {"article_id": article_id},
            field="article",
        )
    with events.announce(events.ARTICLE_RESTORED, organization, actor, current):
        current.restore(actor)
    return current


@tenant_atomic
def article_attachment_add(
    *, organization: Organization, actor: User, article_id: int, stream: Readable,
    file_name: str,
) -> ArticleAttachment:  # fmt: skip
    """Store an upload as a file of the article (staff). The same store, size limit
    (MAX_ATTACHMENT_BYTES), name cleaning and sniffed type as ticket attachments; the
    draft shows it once its text refers to it (`attachment:<id>`)."""
    ensure_staff(actor, gettext("add files to knowledge base articles"))
    article = _live(Article, organization, article_id, field="article")
    stored = store(stream)
    attachment = ArticleAttachment(
        organization=organization, article=article, uploaded_by=actor,
        file_name=sanitize_file_name(file_name), content_type=stored.content_type,
        size=stored.size, sha256=stored.sha256,
    )  # fmt: skip
    validated(attachment, exclude=["organization", "article", "uploaded_by"])
    with events.announce(events.ARTICLE_ATTACHMENT_ADDED, organization, actor, attachment):
        attachment.save()
        attachment.refresh_from_db(fields=["created_at"])
    return attachment


# ------------------------------------------------------------------ review and publishing
REVIEW_MOVES = {
    ReviewState.DRAFT: (ReviewState.IN_REVIEW,),
    ReviewState.IN_REVIEW: (ReviewState.DRAFT, ReviewState.APPROVED),
    ReviewState.APPROVED: (ReviewState.DRAFT,),
}


@tenant_atomic
def translation_review(
    *, organization: Organization, actor: User, article_id: int, language: str, state: str
) -> Translation:
    """draft -> in_review (any staff); in_review -> approved (managers, admins) or back
    to draft; approved -> draft."""
    ensure_staff(actor, gettext("review knowledge base articles"))
    if state not in ReviewState.values:
        raise ValidationFailed.one("state", gettext("Use draft, in_review or approved."))
    current = _translation(organization, article_id, language)
    if state == current.review_state:
        return current
    if state not in REVIEW_MOVES[ReviewState(current.review_state)]:
        raise Conflict(
            gettext("a %(review_state)s translation cannot become %(state)s")
            % {"review_state": current.review_state, "state": state},
            field="state",
        )
    if state == ReviewState.APPROVED:
        ensure_publisher(actor, gettext("approve articles"))
    with events.announce(
        events.ARTICLE_REVIEWED, organization, actor, current,
        review_state=(current.review_state, state),
    ):  # fmt: skip
        current.review_state = state
        current.save(update_fields=["review_state"])
    current.refresh_from_db(fields=["updated_at"])
    return current


def _publish(translation: Translation, actor: User | None, organization: Organization) -> None:
    latest = translation.revisions.order_by("-number").first()
    if latest is None:  # every translation has its first revision; a broken row is a 409
        raise Conflict(gettext("this translation has no revision to publish"), field="revision")
    old = translation.published_revision_id
    with events.announce(
        events.ARTICLE_PUBLISHED, organization, actor, translation,
        published_revision=(old, latest.pk),
    ):  # fmt: skip
        translation.published_revision = latest
        translation.published_at = timezone.now()
        translation.publish_at = None
        translation.review_state = ReviewState.APPROVED
        translation.save(
            update_fields=["published_revision", "published_at", "publish_at", "review_state"]
        )


@tenant_atomic
def translation_publish(
    *, organization: Organization, actor: User | None, article_id: int, language: str,
    at: datetime | None = None,
) -> Translation:  # fmt: skip
    """Publish the draft's latest revision now, or at `at` (the worker does it then:
    whatever the draft holds at that moment). Managers and admins."""
    ensure_publisher(actor, gettext("publish articles"))
    current = _translation(organization, article_id, language)
    now = timezone.now()
    if at is not None and at > now:
        current.publish_at = at
        current.save(update_fields=["publish_at"])
        current.refresh_from_db(fields=["updated_at"])
        return current
    _publish(current, actor, organization)
    current.refresh_from_db(fields=["updated_at"])
    return current


@tenant_atomic
def translation_unpublish(
    *, organization: Organization, actor: User, article_id: int, language: str
) -> Translation:
    """Withdraw a translation from readers (and cancel a scheduled publication)."""
    ensure_publisher(actor, gettext("unpublish articles"))
    current = _translation(organization, article_id, language)
    if current.published_revision_id is None and current.publish_at is None:
        return current
    old = current.published_revision_id
    with events.announce(
        events.ARTICLE_PUBLISHED, organization, actor, current, published_revision=(old, None)
    ):
        current.published_revision = None
        current.published_at = None
        current.publish_at = None
        current.save(update_fields=["published_revision", "published_at", "publish_at"])
    current.refresh_from_db(fields=["updated_at"])
    return current


@tenant_atomic
def revision_restore(
    *, organization: Organization, actor: User, article_id: int, language: str, number: int
) -> Translation:
    """Make an old revision the draft again: a new revision with its text (history is
    never rewritten). Publishing it is a separate act."""
    ensure_staff(actor, gettext("write knowledge base articles"))
    current = _translation(organization, article_id, language)
    old = current.revisions.filter(number=number).first()
    if old is None:
        raise NotFound(gettext("no revision %(number)s") % {"number": number}, field="number")
    changes = {"title": (current.title, old.title), "body": (current.body, old.body)}
    current.title, current.body = old.title, old.body
    if current.review_state == ReviewState.APPROVED:
        current.review_state = ReviewState.DRAFT
    with events.announce(events.ARTICLE_REVISED, organization, actor, current, **changes):
        current.save(update_fields=["title", "body", "review_state"])
        _append_revision(current, actor, f"restored from revision {number}")
    current.refresh_from_db(fields=["updated_at"])
    return current


def publish_due(*, now: datetime | None = None) -> int:
    """Publish every translation whose time has come, one organization at a time (the
    worker, as the owner role). Idempotent: a published one has no publish_at left."""
    moment = now or timezone.now()
    done = 0
    due = (
        Translation.objects.filter(publish_at__lte=moment)
        .values_list("organization_id", "article_id", "language")
        .order_by("organization_id", "id")
    )
    for org_id, article_id, language in list(due):
        organization = Organization(id=org_id)
        with tenant(organization):
            current = (
                Translation.objects.select_for_update()
                .filter(
                    organization_id=org_id,
                    article_id=article_id,
                    language=language,
                    publish_at__lte=moment,
                )
                .first()
            )
            if current is None:
                continue  # published or unscheduled meanwhile
            _publish(current, None, organization)
            done += 1
    return done


# ------------------------------------------------------------------ readers
def visitor_key(user: User | None, anonymous: str | None) -> str:
    """Who a reader is for counting: their user id, else their anonymous cookie."""
    if user is not None:
        return f"u:{user.pk}"
    if not anonymous or len(anonymous) > 64 or not anonymous.isalnum():
        raise ValidationFailed.one("visitor", gettext("An anonymous visitor needs its cookie."))
    return f"a:{anonymous}"


@tenant_atomic
def feedback_record(
    *, organization: Organization, actor: User | None, visitor: str, article_id: int,
    language: str, helpful: bool, reason: str = "", comment: str = "",
) -> Feedback:  # fmt: skip
    """One answer per visitor and article; answering again replaces the answer (the
    count never grows by more than one per visitor). A "no" needs a reason. The caller
    passes an article the visitor may read (selectors.readable_article)."""
    reason = (reason or "").strip()
    if helpful:
        reason = ""
    elif reason not in FeedbackReason.values:
        raise ValidationFailed.one(
            "reason",
            gettext("Say why: %(choices)s.") % {"choices": ", ".join(FeedbackReason.values)},
        )
    comment = (comment or "").strip()[:1000]
    answer = Feedback(
        organization_id=organization.id, article_id=article_id, language=language,
        visitor=visitor, helpful=helpful, reason=reason, comment=comment,
    )  # fmt: skip
    with events.announce(events.ARTICLE_RATED, organization, actor, answer) as rated:
        rated.instance = _upsert_feedback(answer)
    return rated.instance


def _upsert_feedback(answer: Feedback) -> Feedback:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO knowledge_feedback
                   (organization_id, article_id, language, visitor, helpful, reason, comment)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (organization_id, article_id, visitor) DO UPDATE
               SET helpful = EXCLUDED.helpful, reason = EXCLUDED.reason,
                   comment = EXCLUDED.comment, language = EXCLUDED.language
               RETURNING id""",
            [
                answer.organization_id, answer.article_id, answer.language, answer.visitor,
                answer.helpful, answer.reason, answer.comment,
            ],
        )  # fmt: skip
        (pk,) = cursor.fetchone()
    return Feedback.objects.get(pk=pk)


def view_record(*, organization_id: int, article_id: int, language: str, visitor: str) -> None:
    """One row in the monthly-partitioned view log (in the caller's tenant transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO knowledge_articleview (organization_id, article_id, language, visitor)"
            " VALUES (%s, %s, %s, %s)",
            [organization_id, article_id, language, visitor],
        )


# ------------------------------------------------------------------ deflection
def new_attempt() -> str:
    """The token of one new-ticket form: its suggestions' events are counted under it."""
    import secrets

    return secrets.token_hex(16)


@tenant_atomic
def deflection_record(
    *, organization: Organization, actor: User, attempt: str, event: str,
    article_ids: Sequence[int] = (), ticket_id: int | None = None,
) -> int:  # fmt: skip
    """Record `event` of one new-ticket attempt (for each article, or for none); an event
    already recorded for the attempt and article is not counted twice. The caller checked
    that the articles are ones the customer may read. How many rows were new."""
    if event not in DeflectionEvent.values:
        raise ValidationFailed.one("event", gettext("Unknown deflection event."))
    if not (len(attempt) == 32 and all(c in "0123456789abcdef" for c in attempt)):
        raise ValidationFailed.one("attempt", gettext("Not an attempt of this form."))
    targets: list[int | None] = list(article_ids) or [None]
    with connection.cursor() as cursor:
        cursor.executemany(
            """INSERT INTO knowledge_deflection
                   (organization_id, attempt, event, article_id, ticket_id, user_id)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT DO NOTHING""",
            [[organization.id, attempt, event, a, ticket_id, actor.pk] for a in targets],
        )
        return max(cursor.rowcount, 0)


def attempt_was_shown(*, organization: Organization, attempt: str) -> bool:
    """Whether the attempt's form showed any suggestion (then a ticket is "sent anyway")."""
    return Deflection.objects.filter(
        organization_id=organization.id, attempt=attempt, event=DeflectionEvent.SHOWN
    ).exists()
