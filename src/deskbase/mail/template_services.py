"""Writes to the wording of customer notifications: admins only, one organization each."""

from __future__ import annotations

from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant_atomic
from deskbase.mail import notices
from deskbase.mail.models import MailTemplate, TemplateKind
from deskbase.organizations.models import Organization
from deskbase.organizations.settings_services import organization_settings_update


def _ensure_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied(gettext("only admins may change the notification templates"))


def _check_choice(kind: str, language: str) -> None:
    if kind not in TemplateKind.values:
        raise ValidationFailed.one(
            "kind", gettext("Unknown notification %(kind)r.") % {"kind": kind}
        )
    if language not in notices.LANGUAGES:
        known = ", ".join(notices.LANGUAGES)
        raise ValidationFailed.one(
            "language",
            gettext("Unknown language %(language)r; use %(known)s.")
            % {"language": language, "known": known},
        )


@tenant_atomic
def mail_template_save(
    *, organization: Organization, actor: User, kind: str, language: str, subject: str, body: str
) -> MailTemplate:
    """Word one notification in one language the organization's way (replaces its own)."""
    _ensure_admin(actor)
    _check_choice(kind, language)
    subject, body = (subject or "").strip(), (body or "").replace("\r\n", "\n").strip()
    if len(subject) > 200:
        raise ValidationFailed.one("subject", gettext("A subject has at most 200 characters."))
    if len(body) > 20000:
        raise ValidationFailed.one("body", gettext("A body has at most 20,000 characters."))
    notices.check(kind, subject=subject, body=body)
    template, _ = MailTemplate.objects.update_or_create(
        organization=organization, kind=kind, language=language,
        defaults={"subject": subject, "body": body},
    )  # fmt: skip
    return template


@tenant_atomic
def mail_template_reset(
    *, organization: Organization, actor: User, kind: str, language: str
) -> None:
    """Back to the built-in wording (nothing to do when the organization has none of its own)."""
    _ensure_admin(actor)
    _check_choice(kind, language)
    MailTemplate.objects.filter(organization=organization, kind=kind, language=language).delete()


def mail_language_set(*, organization: Organization, actor: User, language: str) -> Organization:
    """The language the organization writes to its customers in: the organization's one
    language (`Organization.language`), also its people's default on the pages."""
    _ensure_admin(actor)
    if language not in notices.LANGUAGES:
        known = ", ".join(notices.LANGUAGES)
        raise ValidationFailed.one(
            "language",
            gettext("Unknown language %(language)r; use %(known)s.")
            % {"language": language, "known": known},
        )
    return organization_settings_update(organization=organization, actor=actor, language=language)
