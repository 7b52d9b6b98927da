"""Customer notifications: the language they are written in and each one's wording.

Admins change them; managers read. Each notification shows the organization's own
wording or, without one, the built-in default of the language (docs/mail-outbound.md).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext

from deskbase.accounts.models import Role
from deskbase.accounts.requests import AuthedRequest
from deskbase.mail import notices, template_services
from deskbase.mail.models import TemplateKind
from deskbase.tickets.access import caller_organization
from deskbase.web.views.common import domain_errors, manager_required


@manager_required
@domain_errors
def notifications(request: AuthedRequest) -> HttpResponse:
    user = request.user
    organization = caller_organization(user)
    if request.method == "POST":
        return _change(request)
    current = notices.language_of(organization)
    language = request.GET.get("language", current)
    if language not in notices.LANGUAGES:
        language = current
    rows = []
    for kind in TemplateKind:
        wording = notices.wording(organization, kind.value, language)
        placeholders = ", ".join("{{ " + n + " }}" for n in notices.PLACEHOLDERS[kind.value])
        rows.append({"kind": kind.value, "label": kind.label, "wording": wording,
                     "placeholders": placeholders})  # fmt: skip
    return render(request, "web/manage/notifications.html", {
        "rows": rows, "language": language, "current": current,
        "languages": notices.LANGUAGES.items(), "may_edit": user.role == Role.ADMIN,
        "section": "notifications",
    })  # fmt: skip


def _change(request: AuthedRequest) -> HttpResponse:
    user, post = request.user, request.POST
    organization = caller_organization(user)
    what, language = post.get("action", ""), post.get("language", "")
    if what == "language":
        template_services.mail_language_set(organization=organization, actor=user,
                                            language=language)  # fmt: skip
        messages.success(request, gettext("Customers are written to in the chosen language."))
    elif what == "reset":
        kind = post.get("kind", "")
        template_services.mail_template_reset(
            organization=organization, actor=user, kind=kind, language=language
        )
        messages.success(request, gettext("The built-in wording is used again."))
    else:
        template_services.mail_template_save(
            organization=organization, actor=user, kind=post.get("kind", ""), language=language,
            subject=post.get("subject", ""), body=post.get("body", ""),
        )  # fmt: skip
        messages.success(request, gettext("Notification saved."))
    return redirect(reverse("web:manage_notifications") + f"?language={language}")
