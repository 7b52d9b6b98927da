"""The public help center: /help/<organization>/ — browse, read, search, "was this helpful?".

Anyone may read the public sections; a signed-in customer of the organization also
the customers sections, its staff every section. The organization comes from the
address (visitors need not sign in), its id from the narrow SECURITY DEFINER lookup
that sign-in uses (deskbase.knowledge.selectors.help_center_organization).

An article's canonical address is /help/<org>/articles/<id>-<slug>: the id finds it,
so a new title (a new slug) never breaks a link; any other slug redirects (301) to
the canonical one. Readers get the article in their language (`?lang=`, else the
browser's Accept-Language) or, said on the page, in the article's own.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from deskbase.core.downloads import download_response
from deskbase.core.errors import DomainError, NotFound
from deskbase.core.tenancy import tenant
from deskbase.knowledge import selectors, services
from deskbase.knowledge.models import FeedbackReason
from deskbase.organizations.models import Organization
from deskbase.search.selectors import html_snippet

VISITOR_COOKIE = "deskbase_kb_visitor"
VISITOR_AGE = 365 * 24 * 3600


def _reader(request: HttpRequest, org: str) -> selectors.Reader:
    organization_id = selectors.help_center_organization(org)
    if organization_id is None:
        raise Http404("no such help center")
    user = request.user if request.user.is_authenticated else None
    return selectors.Reader(organization_id=organization_id, user=user)


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang", "").strip().lower()
    if asked:
        return asked[:5]
    accept = request.headers.get("Accept-Language", "")
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return first[:5] if first[:2].isalpha() and len(first) >= 2 else "en"


def article_path(org: str, article_id: int, slug: str) -> str:
    return reverse("web:help_article", args=[org, article_id, slug])


def _cacheable(response: HttpResponse) -> HttpResponse:
    """Readers' pages may be kept by the browser a minute (never by shared caches: a
    signed-in reader sees more sections than an anonymous one)."""
    patch_cache_control(response, private=True, max_age=60)
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response


def _not_found(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("not found") from None

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@require_GET
def my_help_center(request: HttpRequest) -> HttpResponse:
    """/help/: the signed-in person's help center."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    organization_id = request.user.organization_id
    with tenant(organization_id, savepoint=False):
        slug = Organization.objects.filter(pk=organization_id).values_list("slug", flat=True)
        found = slug.first()
    if found is None:
        raise Http404("no organization")
    return redirect("web:help", found)


@require_GET
@_not_found
def home(request: HttpRequest, org: str) -> HttpResponse:
    reader = _reader(request, org)
    nodes = selectors.help_center(reader)
    return _cacheable(render(request, "web/help/home.html", {"org": org, "nodes": nodes, "q": ""}))


@require_GET
@_not_found
def section(request: HttpRequest, org: str, section_id: int) -> HttpResponse:
    reader = _reader(request, org)
    after = request.GET.get("cursor", "")
    page = selectors.section_articles(
        reader, section_id, language=_language(request),
        after=int(after) if after.isdigit() else None,
    )  # fmt: skip
    return _cacheable(render(request, "web/help/section.html", {"org": org, "page": page}))


@require_GET
@_not_found
def article(request: HttpRequest, org: str, article_id: int, slug: str = "") -> HttpResponse:
    reader = _reader(request, org)
    read = selectors.readable_article(reader, article_id, language=_language(request))
    if slug != read.slug:
        target = article_path(org, article_id, read.slug)
        if request.GET.get("lang"):
            target += f"?lang={read.translation.language}"
        return redirect(target, permanent=True)
    visitor = _visitor(request)
    with tenant(reader.organization_id, savepoint=False):
        services.view_record(
            organization_id=reader.organization_id, article_id=article_id,
            language=read.translation.language, visitor=visitor,
        )  # fmt: skip
    response = render(request, "web/help/article.html", {
        "org": org, "read": read, "reasons": FeedbackReason.choices,
        "thanks": request.GET.get("thanks") == "1",
    })  # fmt: skip
    _remember_visitor(request, response)
    return _cacheable(response)


@require_GET
@_not_found
def attachment(
    request: HttpRequest, org: str, attachment_id: int, name: str = ""
) -> HttpResponseBase:
    """An article's file (an image in it, a download it links to), for readers who may
    read an article showing it; always sent as a download (images still show in the
    page). The name in the address is for people; the id finds the file."""
    reader = _reader(request, org)
    found = selectors.readable_attachment(reader, attachment_id)
    handle = selectors.open_attachment(found)
    return download_response(handle, content_type=found.content_type, file_name=found.file_name)


@require_GET
@_not_found
def search(request: HttpRequest, org: str) -> HttpResponse:
    reader = _reader(request, org)
    try:
        found = selectors.search(reader, request.GET.get("q"), language=_language(request))
    except DomainError as error:
        return render(request, "web/help/search.html",
                      {"org": org, "found": None, "q": "", "error": error.message},
                      status=400)  # fmt: skip
    for row in found.items:
        row["snippet_html"] = html_snippet(row.get("snippet"))
    return render(request, "web/help/search.html", {"org": org, "found": found, "q": found.query})


@require_GET
@_not_found
def suggest(request: HttpRequest, org: str) -> HttpResponse:
    """The most relevant articles for what is being typed (htmx, debounced by the page):
    any of its words, best first; similar titles while a word is half typed."""
    reader = _reader(request, org)
    text = " ".join(
        part for part in (request.GET.get("q", ""), request.GET.get("subject", "")) if part
    )[:500]
    try:
        found = selectors.search(
            reader, text, language=_language(request), limit=5, any_word=True, log=False
        )
    except DomainError:
        found = None
    rows = (found.items or found.suggestions) if found else []
    return render(request, "web/help/suggestions.html", {"org": org, "rows": rows})


@require_POST
@_not_found
def feedback(request: HttpRequest, org: str, article_id: int) -> HttpResponse:
    """ "Was this helpful?": once per visitor (signed in, or the anonymous cookie); a
    second answer replaces the first."""
    reader = _reader(request, org)
    read = selectors.readable_article(reader, article_id, language=request.POST.get("lang"))
    helpful = request.POST.get("helpful") == "yes"
    visitor = _visitor(request)
    target = article_path(org, article_id, read.slug)
    try:
        services.feedback_record(
            organization=Organization(id=reader.organization_id), actor=None, visitor=visitor,
            article_id=article_id, language=read.translation.language, helpful=helpful,
            reason=request.POST.get("reason", ""), comment=request.POST.get("comment", ""),
        )  # fmt: skip
    except DomainError as error:
        response = render(request, "web/help/article.html", {
            "org": org, "read": read, "reasons": FeedbackReason.choices,
            "feedback_error": error.message, "asked_no": True,
        }, status=422)  # fmt: skip
        _remember_visitor(request, response)
        return response
    response = redirect(f"{target}?thanks=1")
    _remember_visitor(request, response)
    return response


def _visitor(request: HttpRequest) -> str:
    """u:<id> for a signed-in reader, else a:<cookie> (made now when missing)."""
    user = request.user if request.user.is_authenticated else None
    if user is None:
        cookie = request.COOKIES.get(VISITOR_COOKIE, "")
        if not (cookie.isalnum() and 16 <= len(cookie) <= 64):
            cookie = getattr(request, "_kb_visitor", None) or secrets.token_hex(16)
            request._kb_visitor = cookie  # type: ignore[attr-defined]  # set once per request
        return services.visitor_key(None, cookie)
    return services.visitor_key(user, None)


def _remember_visitor(request: HttpRequest, response: HttpResponse) -> None:
    made = getattr(request, "_kb_visitor", None)
    if made:
        response.set_cookie(
            VISITOR_COOKIE, made, max_age=VISITOR_AGE, httponly=True, samesite="Lax",
            secure=request.is_secure(),
        )  # fmt: skip
