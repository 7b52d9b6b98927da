"""Mailboxes: admins add, change, test and remove them; managers see them and their status.

Password and key inputs are write-only: the page never holds a stored secret, and an
empty input keeps the stored one (deskbase.mail.services).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from deskbase.accounts.models import Role
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.mail import selectors, services
from deskbase.mail.models import Inbound, Mailbox, Security
from deskbase.tickets.access import caller_organization
from deskbase.web.views.common import domain_errors, manager_required
from deskbase.web.views.manage.forms import action, form_page

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

FORM_FIELDS = (*services.TEXT_FIELDS, *services.PORTS)
# The form, in groups: (group, [(input name, label, kind, hint)]); kind: text, port,
# secret (write-only), pem (write-only), inbound / security (choices).
GROUPS = [
    (
        gettext_lazy("Mailbox"),
        [
            ("name", gettext_lazy("Name"), "text", ""),
            (
                "address",
                gettext_lazy("Support address"),
                "text",
                gettext_lazy("Customers write here; replies come from it."),
            ),
            (
                "from_name",
                gettext_lazy("Sender name"),
                "text",
                gettext_lazy("Shown as the From name of replies."),
            ),
            ("inbound", gettext_lazy("How mail arrives"), "inbound", ""),
        ],
    ),
    (
        gettext_lazy("Receiving by IMAP"),
        [
            ("imap_host", gettext_lazy("IMAP server"), "text", ""),
            (
                "imap_port",
                gettext_lazy("IMAP port"),
                "port",
                gettext_lazy("993 with TLS, 143 with STARTTLS."),
            ),
            ("imap_security", gettext_lazy("IMAP security"), "security", ""),
            ("imap_username", gettext_lazy("IMAP user name"), "text", ""),
            ("imap_password", gettext_lazy("IMAP password"), "secret", ""),
            ("imap_folder", gettext_lazy("Folder"), "text", ""),
            (
                "imap_archive_folder",
                gettext_lazy("Move processed mail to"),
                "text",
                gettext_lazy("Blank: processed mail is flagged and stays in the folder."),
            ),
            (
                "authserv_id",
                gettext_lazy("Trusted Authentication-Results server"),
                "text",
                gettext_lazy(
                    "The authserv-id your receiving server writes; only its verdicts are trusted."
                ),
            ),
        ],
    ),
    (
        gettext_lazy("Sending by SMTP"),
        [
            ("smtp_host", gettext_lazy("SMTP server"), "text", ""),
            (
                "smtp_port",
                gettext_lazy("SMTP port"),
                "port",
                gettext_lazy("587 with STARTTLS, 465 with TLS."),
            ),
            ("smtp_security", gettext_lazy("SMTP security"), "security", ""),
            (
                "smtp_username",
                gettext_lazy("SMTP user name"),
                "text",
                gettext_lazy("Blank: no login."),
            ),
            ("smtp_password", gettext_lazy("SMTP password"), "secret", ""),
        ],
    ),
    (
        gettext_lazy("DKIM signing (optional)"),
        [
            ("dkim_domain", gettext_lazy("Signing domain"), "text", ""),
            ("dkim_selector", gettext_lazy("Selector"), "text", ""),
            (
                "dkim_private_key",
                gettext_lazy("Private key (PEM)"),
                "pem",
                gettext_lazy("Clear domain and selector to stop signing."),
            ),
        ],
    ),
]
INPUTS = {name for _, rows in GROUPS for name, *_ in rows} | {"is_active"}


def _may_edit(request: AuthedRequest) -> bool:
    return request.user.role == Role.ADMIN


def _posted(request: AuthedRequest) -> dict[str, Any]:
    """The form as typed: text fields, ports (blank: none), the active box, the secrets."""
    post = request.POST
    values: dict[str, Any] = {name: post.get(name, "") for name in FORM_FIELDS}
    values["is_active"] = post.get("is_active") == "on"
    for name in services.SECRETS:
        values[name] = post.get(name, "")
    return values


def _shown(mailbox: Mailbox | None) -> dict[str, Any]:
    """The form's values from the stored mailbox (defaults for a new one); never a secret."""
    source = mailbox or Mailbox()
    values = {name: getattr(source, name) for name in FORM_FIELDS}
    values.update(is_active=source.is_active, imap_port=source.imap_port or "",
                  smtp_port=source.smtp_port or "")  # fmt: skip
    return values


def _rows(
    mailbox: Mailbox | None, values: dict[str, Any], errors: dict[str, str]
) -> list[tuple[StrOrPromise, list[dict[str, Any]]]]:
    """The form's groups with each input's value (never a secret's) and error."""
    return [
        (group, [
            {"name": name, "label": label, "kind": kind, "hint": hint,
             "error": errors.get(name, ""),
             "value": "" if name in services.SECRETS else values.get(name, ""),
             "stored": name in services.SECRETS and bool(mailbox and getattr(mailbox, name))}
            for name, label, kind, hint in rows
        ])
        for group, rows in GROUPS
    ]  # fmt: skip


def _context(mailbox: Mailbox | None, values: dict[str, Any], failed: ValidationFailed | None = None
             ) -> dict[str, Any]:  # fmt: skip
    """The page; with `failed`, each error beside its input and any other above the form."""
    fields: dict[str, str] = {}
    general: list[str] = []
    for field, texts in failed.errors.items() if failed else ():
        if field in INPUTS:
            fields[field] = " ".join(texts)
        else:
            general.extend(texts)
    return {
        "mailbox": mailbox, "groups": _rows(mailbox, values, fields),
        "is_active": values.get("is_active", True), "inbounds": Inbound.choices,
        "securities": Security.choices, "section": "mailboxes",
        "errors": {"fields": fields, "general": general} if failed else None,
    }  # fmt: skip


@manager_required
@require_GET
@domain_errors
def mailboxes(request: AuthedRequest) -> HttpResponse:
    """The mailboxes with their status: the servers' last refusal, when last checked."""
    user = request.user
    rows = selectors.mailbox_list(organization=caller_organization(user), actor=user)
    return render(request, "web/manage/mailboxes.html", {
        "mailboxes": rows, "may_edit": _may_edit(request), "section": "mailboxes",
    })  # fmt: skip


def _edit_page(request: AuthedRequest, mailbox: Mailbox | None) -> HttpResponse:
    user = request.user
    if not _may_edit(request):
        raise PermissionDenied(gettext("only admins may manage mailboxes"))
    values = _posted(request) if request.method == "POST" else _shown(mailbox)

    def save() -> str:
        organization = caller_organization(user)
        if mailbox is None:
            services.mailbox_create(organization=organization, actor=user, **values)
            return gettext("Mailbox %(address)s added.") % {"address": values["address"]}
        services.mailbox_update(organization=organization, actor=user, mailbox=mailbox, **values)
        return gettext("Mailbox saved.")

    return form_page(
        request, "web/manage/mailbox_form.html", save=save, done="manage_mailboxes",
        page=lambda: _context(mailbox, values),
        refused=lambda failed: _context(mailbox, values, failed),
    )  # fmt: skip


@manager_required
@domain_errors
def mailbox_new(request: AuthedRequest) -> HttpResponse:
    return _edit_page(request, None)


@manager_required
@domain_errors
def mailbox_edit(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    user = request.user
    found = selectors.mailbox_of(organization=caller_organization(user), actor=user,
                                       mailbox_id=mailbox_id)  # fmt: skip
    return _edit_page(request, found)


@manager_required
@require_POST
@domain_errors
def mailbox_test(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    """Connect now; the servers' answers are shown on the mailbox list, a refusal as an
    error (it is also kept as the mailbox's last error)."""
    user = request.user
    result = services.mailbox_test(
        organization=caller_organization(user), actor=user,
        mailbox=Mailbox(pk=mailbox_id, organization_id=user.tenant_id),
    )  # fmt: skip
    for answer in result.answers:
        text = f"{answer.service.upper()}: {answer.text}"
        (messages.success if answer.ok else messages.error)(request, text)
    return redirect("web:manage_mailboxes")


@action("manage_mailboxes")
def mailbox_delete(request: AuthedRequest, mailbox_id: int) -> str:
    user = request.user
    removed = services.mailbox_soft_delete(
        organization=caller_organization(user), actor=user,
        mailbox=Mailbox(pk=mailbox_id, organization_id=user.tenant_id),
    )  # fmt: skip
    return gettext("Mailbox %(address)s removed.") % {"address": removed.address}
