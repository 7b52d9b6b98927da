"""/api/v1/kb: the knowledge base.

Staff (agents, managers, admins) write categories, sections, articles and drafts;
publishing and approving are for managers and admins. Everyone signed in reads the
published articles their visibility allows (customers: public and customers
sections). Another tenant's article, like one the caller may not read, is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, File, Query, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.files import UploadedFile

from deskbase.accounts.requests import ApiRequest
from deskbase.api.attachments import reject_oversized_bodies
from deskbase.api.schemas import ERRORS, Problem
from deskbase.api.tickets import Strict, UtcDatetime
from deskbase.core.downloads import download_response
from deskbase.core.errors import ValidationFailed
from deskbase.knowledge import analytics, selectors, services
from deskbase.knowledge.models import Article, ArticleAttachment, Category, Section, Translation
from deskbase.knowledge.rendering import IMAGE_TYPES
from deskbase.tickets.access import caller_organization

router = Router(tags=["knowledge base"])

VisibilityName = Literal["public", "customers", "internal"]
ReviewName = Literal["draft", "in_review", "approved"]
ReasonName = Literal["outdated", "unclear", "incomplete", "wrong", "other"]
Language = Field(..., min_length=2, max_length=5, pattern=r"^[a-z]{2}(-[a-z]{2})?$")


# ------------------------------------------------------------------ shapes
class SectionOut(Schema):
    id: int
    category_id: int
    name: str
    slug: str
    description: str
    visibility: str
    position: int


class CategoryOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    position: int
    sections: list[SectionOut]


class TranslationSummary(Schema):
    language: str
    title: str
    slug: str
    review_state: str
    published: bool
    published_at: datetime | None
    publish_at: datetime | None
    updated_at: datetime

    @staticmethod
    def resolve_published(obj: Translation) -> bool:
        return obj.published_revision_id is not None


class ArticleOut(Schema):
    id: int
    section_id: int
    language: str
    tags: list[str]
    author_id: int
    created_at: datetime
    updated_at: datetime
    translations: list[TranslationSummary]

    @staticmethod
    def resolve_translations(obj: Article) -> list[Translation]:
        return list(obj.translations.all())


class ArticlePage(Schema):
    items: list[ArticleOut]
    next_cursor: int | None


class ReadOut(Schema):
    id: int
    section_id: int
    language: str = Field(..., description="the language shown")
    fallback: bool = Field(..., description="not in the language asked for")
    languages: list[str] = Field(..., description="the languages it is published in")
    title: str
    slug: str
    body_html: str
    tags: list[str]
    published_at: datetime


class ListedOut(Schema):
    id: int
    language: str
    title: str
    slug: str
    published_at: datetime


class SectionArticlesOut(Schema):
    section: SectionOut
    items: list[ListedOut]
    next_cursor: int | None


class TranslationOut(Schema):
    article_id: int
    language: str
    title: str
    slug: str
    body: str = Field(..., description="Markdown: the working draft")
    review_state: str
    published_revision: int | None = Field(..., description="the published revision's number")
    published_at: datetime | None
    publish_at: datetime | None
    updated_at: datetime


class RevisionOut(Schema):
    number: int
    title: str
    author_id: int | None
    note: str
    created_at: datetime


class ArticleFileOut(Schema):
    id: int
    article_id: int
    file_name: str
    content_type: str = Field(..., description="sniffed from the bytes")
    size: int
    created_at: datetime
    markdown: str = Field(
        ..., description="what to put in an article's Markdown to show (image) or link it"
    )


class RevisionDetailOut(RevisionOut):
    body: str
    body_html: str
    diff: list[str] = Field(..., description="unified diff against the `against` revision")


class HitOut(Schema):
    article_id: int
    language: str
    title: str
    slug: str
    snippet: str = Field("", description="HTML: escaped text with <mark> highlights")


class ArticleSearchOut(Schema):
    query: str
    language: str
    items: list[HitOut]
    suggestions: list[HitOut] = Field(..., description="similar titles, when nothing matched")


class CategoryIn(Strict):
    name: str = Field(..., min_length=1, max_length=120)
    slug: str = Field("", max_length=80)
    description: str = Field("", max_length=2000)
    position: int = Field(0, ge=0, le=32767)


class CategoryPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    slug: str | None = Field(None, min_length=1, max_length=80)
    description: str | None = Field(None, max_length=2000)
    position: int | None = Field(None, ge=0, le=32767)


class SectionIn(CategoryIn):
    category_id: int
    visibility: VisibilityName = "public"


class SectionPatch(CategoryPatch):
    category_id: int | None = None
    visibility: VisibilityName | None = None


class ArticleIn(Strict):
    section_id: int
    title: str = Field(..., min_length=1, max_length=200)
    body: str = Field("", max_length=200_000, description="Markdown")
    language: str = Field("en", min_length=2, max_length=5)
    tags: list[str] = Field(default_factory=list, max_length=20)
    slug: str = Field("", max_length=200)


class ArticlePatch(Strict):
    section_id: int | None = None
    tags: list[str] | None = Field(None, max_length=20)


class TranslationIn(Strict):
    language: str = Language
    title: str = Field(..., min_length=1, max_length=200)
    body: str = Field("", max_length=200_000, description="Markdown")
    slug: str = Field("", max_length=200)
    note: str = Field("", max_length=200)


class TranslationPatch(Strict):
    title: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, max_length=200_000, description="Markdown")
    slug: str | None = Field(None, max_length=200)
    note: str = Field("", max_length=200, description="kept with the revision")


class ReviewIn(Strict):
    state: ReviewName


class PublishIn(Strict):
    at: UtcDatetime | None = Field(None, description="later: the worker publishes it then")


class FeedbackIn(Strict):
    helpful: bool
    reason: ReasonName | None = Field(None, description="why not: required when not helpful")
    comment: str = Field("", max_length=1000)
    language: str | None = Field(None, min_length=2, max_length=5)


class FeedbackOut(Schema):
    article_id: int
    helpful: bool
    reason: str
    created_at: datetime


class ReadQuery(Schema):
    lang: str | None = Field(None, max_length=5, description="the reader's language")


class PageQuery(ReadQuery):
    cursor: int | None = None
    limit: int = Field(50, ge=1, le=100)


class ArticlesQuery(Schema):
    section_id: int | None = None
    cursor: int | None = None
    limit: int = Field(50, ge=1, le=100)


class ArticleSearchQuery(ReadQuery):
    q: str = Field("", description='web-search syntax: words, "a phrase", OR, -word')
    limit: int = Field(20, ge=1, le=50)


class DiffQuery(Schema):
    against: int | None = Field(None, ge=0, description="default: the revision before")


def _nonnull(payload: Strict) -> dict[str, Any]:
    changes = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    return changes


def _translation_out(translation: Translation) -> dict[str, Any]:
    revision = translation.published_revision
    return {
        "article_id": translation.article_id, "language": translation.language,
        "title": translation.title, "slug": translation.slug, "body": translation.body,
        "review_state": translation.review_state,
        "published_revision": revision.number if revision is not None else None,
        "published_at": translation.published_at, "publish_at": translation.publish_at,
        "updated_at": translation.updated_at,
    }  # fmt: skip


def _hit(row: dict[str, Any]) -> dict[str, Any]:
    from deskbase.search.selectors import html_snippet

    return {
        "article_id": row["article_id"], "language": row["language"], "title": row["title"],
        "slug": row["slug"], "snippet": html_snippet(row.get("snippet")),
    }  # fmt: skip


# ------------------------------------------------------------------ structure
@router.get("/categories", response={200: list[CategoryOut], **ERRORS})
def list_categories(request: ApiRequest):
    """Categories with the sections the caller may read."""
    nodes = selectors.help_center(selectors.reader_of(request.auth))
    return [{**_category(node.category), "sections": node.sections} for node in nodes]


def _category(category: Category) -> dict[str, Any]:
    return {
        "id": category.pk, "name": category.name, "slug": category.slug,
        "description": category.description, "position": category.position,
    }  # fmt: skip


@router.post("/categories", response={201: CategoryOut, **ERRORS})
def create_category(request: ApiRequest, payload: CategoryIn):
    user = request.auth
    made = services.category_create(
        organization=caller_organization(user), actor=user, **payload.dict()
    )
    return Status(201, {**_category(made), "sections": []})


@router.patch("/categories/{category_id}", response={200: CategoryOut, **ERRORS})
def update_category(request: ApiRequest, category_id: int, payload: CategoryPatch):
    user = request.auth
    changed = services.category_update(
        organization=caller_organization(user), actor=user, category_id=category_id,
        **_nonnull(payload),
    )  # fmt: skip
    sections = list(Section.objects.filter(organization_id=user.tenant_id, category=changed))
    return {**_category(changed), "sections": sections}


@router.delete("/categories/{category_id}", response={204: None, **ERRORS})
def delete_category(request: ApiRequest, category_id: int):
    """Soft delete; a category with sections is a 409."""
    user = request.auth
    services.category_delete(
        organization=caller_organization(user), actor=user, category_id=category_id
    )
    return Status(204, None)


@router.post("/sections", response={201: SectionOut, **ERRORS})
def create_section(request: ApiRequest, payload: SectionIn):
    user = request.auth
    made = services.section_create(
        organization=caller_organization(user), actor=user, **payload.dict()
    )
    return Status(201, made)


@router.patch("/sections/{section_id}", response={200: SectionOut, **ERRORS})
def update_section(request: ApiRequest, section_id: int, payload: SectionPatch):
    user = request.auth
    return services.section_update(
        organization=caller_organization(user), actor=user, section_id=section_id,
        **_nonnull(payload),
    )  # fmt: skip


@router.delete("/sections/{section_id}", response={204: None, **ERRORS})
def delete_section(request: ApiRequest, section_id: int):
    """Soft delete; a section with articles is a 409."""
    user = request.auth
    services.section_delete(
        organization=caller_organization(user), actor=user, section_id=section_id
    )
    return Status(204, None)


@router.get("/sections/{section_id}/articles", response={200: SectionArticlesOut, **ERRORS})
def section_articles(request: ApiRequest, section_id: int, params: Query[PageQuery]):
    """A section's published articles, newest first, in the reader's language where
    there is one (keyset: pass `next_cursor` as `cursor`)."""
    page = selectors.section_articles(
        selectors.reader_of(request.auth), section_id, language=params.lang,
        after=params.cursor, limit=params.limit,
    )  # fmt: skip
    items = [
        {"id": t.article_id, "language": t.language, "slug": t.slug,
         "title": t.published_revision.title if t.published_revision else t.title,
         "published_at": t.published_at}
        for t in page.items
    ]  # fmt: skip
    return {"section": page.section, "items": items, "next_cursor": page.next_cursor}


# ------------------------------------------------------------------ articles
@router.get("/articles", response={200: ArticlePage, **ERRORS})
def list_articles(request: ApiRequest, params: Query[ArticlesQuery]):
    """Staff: every live article with its translations, drafts included, newest first."""
    items, cursor = selectors.article_list(
        user=request.auth, section_id=params.section_id, after=params.cursor, limit=params.limit
    )
    return {"items": items, "next_cursor": cursor}


@router.post("/articles", response={201: ArticleOut, **ERRORS})
def create_article(request: ApiRequest, payload: ArticleIn):
    """A draft article with its first translation (in `language`); publish it to show it."""
    user = request.auth
    made = services.article_create(
        organization=caller_organization(user), actor=user, **payload.dict()
    )
    return Status(201, selectors.article_detail(user=user, article_id=made.article_id))


@router.get("/articles/{article_id}", response={200: ReadOut, **ERRORS})
def read_article(request: ApiRequest, article_id: int, params: Query[ReadQuery]):
    """The published article, in `lang` or (flagged `fallback`) the article's own language."""
    read = selectors.readable_article(
        selectors.reader_of(request.auth), article_id, language=params.lang
    )
    return {
        "id": read.article.pk, "section_id": read.section.pk, "language": read.translation.language,
        "fallback": read.fallback, "languages": read.languages, "title": read.revision.title,
        "slug": read.translation.slug, "body_html": read.revision.body_html,
        "tags": read.article.tags, "published_at": read.translation.published_at,
    }  # fmt: skip


@router.patch("/articles/{article_id}", response={200: ArticleOut, **ERRORS})
def update_article(request: ApiRequest, article_id: int, payload: ArticlePatch):
    user = request.auth
    services.article_update(
        organization=caller_organization(user), actor=user, article_id=article_id,
        **_nonnull(payload),
    )  # fmt: skip
    return selectors.article_detail(user=user, article_id=article_id)


@router.delete("/articles/{article_id}", response={204: None, **ERRORS})
def delete_article(request: ApiRequest, article_id: int):
    user = request.auth
    services.article_delete(
        organization=caller_organization(user), actor=user, article_id=article_id
    )
    return Status(204, None)


@router.post("/articles/{article_id}/restore", response={200: ArticleOut, **ERRORS})
def restore_article(request: ApiRequest, article_id: int):
    user = request.auth
    services.article_restore(
        organization=caller_organization(user), actor=user, article_id=article_id
    )
    return selectors.article_detail(user=user, article_id=article_id)


@router.post("/articles/{article_id}/feedback", response={200: FeedbackOut, **ERRORS})
def article_feedback(request: ApiRequest, article_id: int, payload: FeedbackIn):
    """ "Was this helpful?": one answer per person and article (a new one replaces it)."""
    user = request.auth
    read = selectors.readable_article(
        selectors.reader_of(user), article_id, language=payload.language
    )
    return services.feedback_record(
        organization=caller_organization(user), actor=user,
        visitor=services.visitor_key(user, None), article_id=read.article.pk,
        language=read.translation.language, helpful=payload.helpful,
        reason=payload.reason or "", comment=payload.comment,
    )  # fmt: skip


# ------------------------------------------------------------------ translations
def _staff_translation(request: ApiRequest, article_id: int, language: str) -> dict[str, Any]:
    article = selectors.article_detail(user=request.auth, article_id=article_id)
    return _translation_out(selectors.translation_of(article, language))


@router.post("/articles/{article_id}/translations", response={201: TranslationOut, **ERRORS})
def add_translation(request: ApiRequest, article_id: int, payload: TranslationIn):
    """A new translation (its first revision, a draft); a language it has is a 422."""
    user = request.auth
    existing = selectors.article_detail(user=user, article_id=article_id)
    if any(t.language == payload.language for t in existing.translations.all()):
        raise ValidationFailed.one(
            "language", "This article already has a translation in this language."
        )
    made = services.translation_save(
        organization=caller_organization(user), actor=user, article_id=article_id,
        **payload.dict(),
    )  # fmt: skip
    return Status(201, _translation_out(made))


@router.get(
    "/articles/{article_id}/translations/{language}", response={200: TranslationOut, **ERRORS}
)
def get_translation(request: ApiRequest, article_id: int, language: str):
    """Staff: the working draft and its state."""
    return _staff_translation(request, article_id, language)


@router.patch(
    "/articles/{article_id}/translations/{language}", response={200: TranslationOut, **ERRORS}
)
def save_translation(
    request: ApiRequest, article_id: int, language: str, payload: TranslationPatch
):
    """Save the draft: a change is a new revision (readers keep the published one)."""
    user = request.auth
    selectors.translation_of(selectors.article_detail(user=user, article_id=article_id), language)
    saved = services.translation_save(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language, **_nonnull(payload),
    )  # fmt: skip
    return _translation_out(saved)


@router.post(
    "/articles/{article_id}/translations/{language}/review",
    response={200: TranslationOut, **ERRORS},
)
def review_translation(request: ApiRequest, article_id: int, language: str, payload: ReviewIn):
    """draft -> in_review (staff) -> approved (managers, admins) or back to draft."""
    user = request.auth
    done = services.translation_review(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language, state=payload.state,
    )  # fmt: skip
    return _translation_out(done)


@router.post(
    "/articles/{article_id}/translations/{language}/publish",
    response={200: TranslationOut, **ERRORS},
)
def publish_translation(request: ApiRequest, article_id: int, language: str, payload: PublishIn):
    """Managers and admins: publish the draft's latest revision now, or at `at`."""
    user = request.auth
    done = services.translation_publish(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language, at=payload.at,
    )  # fmt: skip
    return _translation_out(done)


@router.post(
    "/articles/{article_id}/translations/{language}/unpublish",
    response={200: TranslationOut, **ERRORS},
)
def unpublish_translation(request: ApiRequest, article_id: int, language: str):
    user = request.auth
    done = services.translation_unpublish(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language,
    )  # fmt: skip
    return _translation_out(done)


@router.get(
    "/articles/{article_id}/translations/{language}/revisions",
    response={200: list[RevisionOut], **ERRORS},
)
def list_revisions(request: ApiRequest, article_id: int, language: str):
    """Staff: every revision, newest first."""
    return selectors.revisions(user=request.auth, article_id=article_id, language=language)


@router.get(
    "/articles/{article_id}/translations/{language}/revisions/{number}",
    response={200: RevisionDetailOut, **ERRORS},
)
def get_revision(
    request: ApiRequest, article_id: int, language: str, number: int, params: Query[DiffQuery]
):
    """Staff: one revision and its diff against another (by default the one before)."""
    revision, diff = selectors.revision_detail(
        user=request.auth, article_id=article_id, language=language, number=number,
        against=params.against,
    )  # fmt: skip
    return {
        "number": revision.number, "title": revision.title, "author_id": revision.author_id,
        "note": revision.note, "created_at": revision.created_at, "body": revision.body,
        "body_html": revision.body_html, "diff": diff,
    }  # fmt: skip


@router.post(
    "/articles/{article_id}/translations/{language}/revisions/{number}/restore",
    response={200: TranslationOut, **ERRORS},
)
def restore_revision(request: ApiRequest, article_id: int, language: str, number: int):
    """Make revision `number` the draft again (as a new revision)."""
    user = request.auth
    done = services.revision_restore(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language, number=number,
    )  # fmt: skip
    return _translation_out(done)


# ------------------------------------------------------------------ search
@router.get("/search", response={200: ArticleSearchOut, **ERRORS})
def search_articles(request: ApiRequest, params: Query[ArticleSearchQuery]):
    """Published articles the caller may read, best first (title, then tags, then body);
    similar titles when nothing matched. Every search is logged for the analytics."""
    found = selectors.search(
        selectors.reader_of(request.auth), params.q, language=params.lang, limit=params.limit
    )
    return {
        "query": found.query, "language": found.language,
        "items": [_hit(row) for row in found.items],
        "suggestions": [_hit(row) for row in found.suggestions],
    }  # fmt: skip


@router.get("/suggest", response={200: list[HitOut], **ERRORS})
def suggest_articles(request: ApiRequest, params: Query[ArticleSearchQuery]):
    """Titles like what is being typed (trigram similarity), for a search box."""
    rows = selectors.suggest(
        selectors.reader_of(request.auth), params.q, language=params.lang, limit=params.limit
    )
    return [_hit(row) for row in rows]


# ------------------------------------------------------------------ analytics
class AnalyticsQuery(Schema):
    days: int = Field(30, ge=1, le=366)
    stale_months: int = Field(6, ge=1, le=120, description="stale: unchanged this long")


class AnalyticsOut(Schema):
    days: int
    views: int
    visitors: int
    views_by_day: list[dict[str, Any]] = Field(
        ..., description="every day of the period (UTC), oldest first: day, views, visitors"
    )
    top_viewed: list[dict[str, Any]]
    least_helpful: list[dict[str, Any]] = Field(..., description="helpful ratio, lowest first")
    zero_result_searches: list[dict[str, Any]]
    deflection: dict[str, Any] = Field(
        ..., description="new-ticket forms that showed, opened, solved, sent anyway; rate"
    )
    stale_months: int
    stale: list[dict[str, Any]]


@router.get("/analytics", response={200: AnalyticsOut, **ERRORS})
def knowledge_analytics(request: ApiRequest, params: Query[AnalyticsQuery]):
    """Managers and admins: views, helpful ratios, searches without results, deflection
    rate and stale articles."""
    return analytics.report(user=request.auth, days=params.days, stale_months=params.stale_months)


# ------------------------------------------------------------------ files
def _file_out(row: ArticleAttachment) -> dict[str, Any]:
    bang = "!" if row.content_type in IMAGE_TYPES else ""
    return {
        "id": row.pk, "article_id": row.article_id, "file_name": row.file_name,
        "content_type": row.content_type, "size": row.size, "created_at": row.created_at,
        "markdown": f"{bang}[{row.file_name}](attachment:{row.pk})",
    }  # fmt: skip


@router.get("/articles/{article_id}/attachments", response={200: list[ArticleFileOut], **ERRORS})
def list_article_files(request: ApiRequest, article_id: int):
    """Staff: the article's files, oldest first."""
    rows = selectors.attachments(user=request.auth, article_id=article_id)
    return [_file_out(row) for row in rows]


@router.post(
    "/articles/{article_id}/attachments",
    response={201: ArticleFileOut, 413: Problem, **ERRORS},
)
@decorate_view(reject_oversized_bodies)
def upload_article_file(request: ApiRequest, article_id: int, file: File[UploadedFile]):
    """Staff: add a file (at most MAX_ATTACHMENT_BYTES) to the article. Show it by
    putting `markdown` in a translation's body; readers get it once a published
    revision refers to it. Empty or too large: 422 (field `file`)."""
    user = request.auth
    try:
        made = services.article_attachment_add(
            organization=caller_organization(user), actor=user, article_id=article_id,
            stream=file, file_name=file.name or "",
        )  # fmt: skip
    finally:
        file.close()
    return Status(201, _file_out(made))


@router.get(
    "/attachments/{attachment_id}/download",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, as an attachment, in its stored (sniffed) type.",
                "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                    "format": "binary"}}},
            }
        }
    },
)  # fmt: skip
def download_article_file(request: ApiRequest, attachment_id: int):
    """An article's file: staff any of their organization's; others one that a
    published article they may read shows. Anything else is a 404."""
    found = selectors.readable_attachment(selectors.reader_of(request.auth), attachment_id)
    handle = selectors.open_attachment(found)
    return download_response(handle, content_type=found.content_type, file_name=found.file_name)
