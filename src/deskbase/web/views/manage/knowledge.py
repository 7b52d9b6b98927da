"""The knowledge base for staff (/manage/kb/): structure, articles, drafts, review,
publishing, revisions and their diffs. Every rule is the services' (agents write and
send for review; managers and admins approve and publish)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from deskbase import cached
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.knowledge import analytics, selectors, services
from deskbase.knowledge.models import ReviewState, Visibility
from deskbase.knowledge.rendering import IMAGE_TYPES
from deskbase.tickets.access import caller_organization
from deskbase.web.views.common import MANAGERS, domain_errors, manager_required, staff_required

MAX_FILES = 10


def _edit_url(article_id: int, language: str) -> str:
    return reverse("web:manage_kb_article", args=[article_id, language])


def _int(request: AuthedRequest, field: str) -> int:
    raw = request.POST.get(field, "").strip()
    if not raw.isdigit():
        raise ValidationFailed.one(
            field, gettext("Choose a %(field)s.") % {"field": field.removesuffix("_id")}
        )
    return int(raw)


def _tags(text: str) -> list[str]:
    return [tag for tag in (part.strip() for part in text.split(",")) if tag]


@staff_required
@require_GET
@domain_errors
def index(request: AuthedRequest) -> HttpResponse:
    """Articles (newest first, keyset), the structure, and the forms that add to them."""
    user = request.user
    after = request.GET.get("cursor", "")
    items, cursor = selectors.article_list(
        user=user, after=int(after) if after.isdigit() else None, limit=50
    )
    nodes = selectors.help_center(selectors.reader_of(user))
    return render(request, "web/manage/kb.html", {
        "articles": items, "next_cursor": cursor, "nodes": nodes, "section": "kb",
        "categories": selectors.categories(user=user),
        "visibilities": Visibility.choices,
    })  # fmt: skip


def _post(act: Callable[..., tuple[str, str]]) -> Callable[..., HttpResponse]:
    """A POST that calls one service, then goes where `act` says with its message."""

    @staff_required
    @require_POST
    @domain_errors
    def view(request: AuthedRequest, *args: object, **kwargs: object) -> HttpResponse:
        message, target = act(request, *args, **kwargs)
        messages.success(request, message)
        return redirect(target)

    view.__name__ = act.__name__
    view.__doc__ = act.__doc__
    return view


@_post
def category_create(request: AuthedRequest) -> tuple[str, str]:
    user = request.user
    services.category_create(
        organization=caller_organization(user), actor=user, name=request.POST.get("name", ""),
        description=request.POST.get("description", ""),
    )  # fmt: skip
    return gettext("Category added."), reverse("web:manage_kb")


@_post
def section_create(request: AuthedRequest) -> tuple[str, str]:
    user = request.user
    services.section_create(
        organization=caller_organization(user), actor=user,
        category_id=_int(request, "category_id"), name=request.POST.get("name", ""),
        visibility=request.POST.get("visibility", "public"),
    )  # fmt: skip
    return gettext("Section added."), reverse("web:manage_kb")


@_post
def article_create(request: AuthedRequest) -> tuple[str, str]:
    user = request.user
    made = services.article_create(
        organization=caller_organization(user), actor=user,
        section_id=_int(request, "section_id"), title=request.POST.get("title", ""),
        body=request.POST.get("body", ""), language=request.POST.get("language", "en"),
        tags=_tags(request.POST.get("tags", "")),
    )  # fmt: skip
    return gettext("Draft saved."), _edit_url(made.article_id, made.language)


@staff_required
@domain_errors
def article_edit(request: AuthedRequest, article_id: int, language: str) -> HttpResponse:
    """One translation's draft (saving it is a new revision), its state and history."""
    user = request.user
    error = ""
    if request.method == "POST":
        try:
            services.translation_save(
                organization=caller_organization(user), actor=user, article_id=article_id,
                language=language, title=request.POST.get("title", ""),
                body=request.POST.get("body", ""), slug=request.POST.get("slug", ""),
                note=request.POST.get("note", ""),
            )  # fmt: skip
        except ValidationFailed as failed:
            error = failed.message
        else:
            messages.success(request, gettext("Draft saved."))
            return redirect(_edit_url(article_id, language))
    article = selectors.article_detail(user=user, article_id=article_id)
    translation = selectors.translation_of(article, language)
    if error:  # show what was typed, not the saved draft, beside the error (not saved)
        translation.title = request.POST.get("title", translation.title)
        translation.body = request.POST.get("body", translation.body)
        translation.slug = request.POST.get("slug", translation.slug)
    history = selectors.revisions(user=user, article_id=article_id, language=language)
    files = selectors.attachments(user=user, article_id=article_id)
    return render(request, "web/manage/kb_article.html", {
        "article": article, "translation": translation, "revisions": history, "files": files,
        "error": error, "section": "kb", "publisher": user.role in MANAGERS,
        "states": ReviewState, "nodes": selectors.help_center(selectors.reader_of(user)),
        "org_slug": cached.organization_settings(user.tenant_id).slug,
        "image_types": IMAGE_TYPES,
    }, status=422 if error else 200)  # fmt: skip


@_post
def attachment_upload(request: AuthedRequest, article_id: int, language: str) -> tuple[str, str]:
    """Add files to the article; the page then shows the reference to put in the text."""
    user = request.user
    files = request.FILES.getlist("files")
    if not files:
        raise ValidationFailed.one("files", gettext("Choose a file to upload."))
    if len(files) > MAX_FILES:
        raise ValidationFailed.one(
            "files",
            gettext("Upload at most %(max_files)s files at once.") % {"max_files": MAX_FILES},
        )
    names = []
    for upload in files:
        try:
            made = services.article_attachment_add(
                organization=caller_organization(user), actor=user, article_id=article_id,
                stream=upload, file_name=upload.name or "",
            )  # fmt: skip
        finally:
            upload.close()
        names.append(f"{made.file_name} (attachment:{made.pk})")
    said = "Uploaded " + ", ".join(names) + ". Refer to a file in the body to show it."
    return said, _edit_url(article_id, language) + "#files"


@_post
def translation_add(request: AuthedRequest, article_id: int) -> tuple[str, str]:
    user = request.user
    language = request.POST.get("language", "").strip().lower()
    article = selectors.article_detail(user=user, article_id=article_id)
    if any(t.language == language for t in article.translations.all()):
        raise ValidationFailed.one("language", gettext("This article already has that language."))
    services.translation_save(
        organization=caller_organization(user),
        actor=user,
        article_id=article_id,
        language=language,
        title=request.POST.get("title", ""),
        body="",
    )
    return gettext("Translation added."), _edit_url(article_id, language)


@_post
def article_update(request: AuthedRequest, article_id: int, language: str) -> tuple[str, str]:
    user = request.user
    services.article_update(
        organization=caller_organization(user), actor=user, article_id=article_id,
        section_id=_int(request, "section_id"), tags=_tags(request.POST.get("tags", "")),
    )  # fmt: skip
    return gettext("Article saved."), _edit_url(article_id, language)


@_post
def review(request: AuthedRequest, article_id: int, language: str) -> tuple[str, str]:
    user = request.user
    state = request.POST.get("state", "")
    services.translation_review(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language, state=state,
    )  # fmt: skip
    said = gettext("Review state: %(state)s.") % {"state": ReviewState(state).label}
    return said, _edit_url(article_id, language)


def _when(raw: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed.one(
            "at", gettext("Give a date and time such as 2030-01-31T09:00.")
        ) from None
    if moment.tzinfo is None:
        moment = timezone.make_aware(moment)
    return moment


@_post
def publish(request: AuthedRequest, article_id: int, language: str) -> tuple[str, str]:
    user = request.user
    at = _when(request.POST.get("at", ""))
    services.translation_publish(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language, at=at,
    )  # fmt: skip
    said = (
        gettext("Publication scheduled for %(at)s.") % {"at": f"{at:%Y-%m-%d %H:%M %Z}"}
        if at
        else gettext("Published.")
    )
    return said, _edit_url(article_id, language)


@_post
def unpublish(request: AuthedRequest, article_id: int, language: str) -> tuple[str, str]:
    user = request.user
    services.translation_unpublish(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language,
    )  # fmt: skip
    return gettext("Withdrawn from readers."), _edit_url(article_id, language)


@_post
def article_delete(request: AuthedRequest, article_id: int) -> tuple[str, str]:
    user = request.user
    services.article_delete(
        organization=caller_organization(user), actor=user, article_id=article_id
    )
    return gettext("Article deleted."), reverse("web:manage_kb")


@staff_required
@require_GET
@domain_errors
def revision(request: AuthedRequest, article_id: int, language: str, number: int) -> HttpResponse:
    """One revision: its text and its diff against the one before (or `?against=`)."""
    against = request.GET.get("against", "")
    found, diff = selectors.revision_detail(
        user=request.user, article_id=article_id, language=language, number=number,
        against=int(against) if against.isdigit() else None,
    )  # fmt: skip
    return render(request, "web/manage/kb_revision.html", {
        "revision": found, "diff": diff, "article_id": article_id, "language": language,
        "section": "kb",
    })  # fmt: skip


@_post
def revision_restore(
    request: AuthedRequest, article_id: int, language: str, number: int
) -> tuple[str, str]:
    user = request.user
    services.revision_restore(
        organization=caller_organization(user), actor=user, article_id=article_id,
        language=language, number=number,
    )  # fmt: skip
    said = gettext("Revision %(number)s is the draft again.") % {"number": number}
    return said, _edit_url(article_id, language)


@manager_required
@require_GET
@domain_errors
def analytics_page(request: AuthedRequest) -> HttpResponse:
    """Views, helpful ratios, searches without results, deflection, stale articles."""
    days = request.GET.get("days", "30")
    months = request.GET.get("stale_months", "6")
    found = analytics.report(
        user=request.user, days=int(days) if days.isdigit() else 0,
        stale_months=int(months) if months.isdigit() else 0,
    )  # fmt: skip
    return render(request, "web/manage/kb_analytics.html",
                  {"report": found, "section": "kb", "chart_data": _chart_data(found)})  # fmt: skip


def _chart_data(report: analytics.Report) -> dict[str, Any]:
    """What the charts draw (static/web/kb_analytics.js reads it from a json_script block)."""
    deflection = report.deflection
    return {
        "views": {"labels": [d["day"].isoformat() for d in report.views_by_day],
                  "views": [d["views"] for d in report.views_by_day],
                  "visitors": [d["visitors"] for d in report.views_by_day]},
        "helpful": {"labels": [r["title"] for r in report.least_helpful],
                    "helpful": [r["helpful"] for r in report.least_helpful],
                    "not_helpful": [r["not_helpful"] for r in report.least_helpful]},
        "deflection": {"labels": [gettext("Showed articles"), gettext("Article opened"),
                                  gettext("Solved"), gettext("Sent anyway")],
                       "counts": [deflection["shown"], deflection["clicked"],
                                  deflection["solved"], deflection["sent_anyway"]]},
        # The charts' own words, in the reader's language (kb_analytics.js has no catalog).
        "words": {"views": gettext("Views"), "visitors": gettext("Visitors"),
                  "helpful": gettext("Helpful"), "not_helpful": gettext("Not helpful"),
                  "forms": gettext("New-ticket forms")},
    }  # fmt: skip
