import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from deskbase.accounts import throttle
from deskbase.core.i18n import Language


class SignInForm(AuthenticationForm):
    """Organization, email and password: emails are unique per organization.

    Failed attempts are throttled per account and per address (accounts.throttle).
    """

    organization = forms.SlugField(max_length=63, label=_("Organization"))
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Your organization, email address and password did not match."),
    }

    field_order = ["organization", "username", "password"]

    def clean(self):
        organization = self.cleaned_data.get("organization")
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if organization and username and password:
            address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
            try:
                failed_before = throttle.check(organization, username, address)
            except throttle.Throttled as limited:
                raise forms.ValidationError(limited.message, code="throttled") from None
            self.user_cache = authenticate(
                self.request, username=username, password=password, organization=organization
            )
            if self.user_cache is None:
                throttle.record_failure(organization, username, address)
                raise self.get_invalid_login_error()
            if failed_before:
                throttle.record_success(organization, username)
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class PreferencesForm(forms.Form):
    """A person's language and time zone; blank: the organization's (docs/i18n.md)."""

    language = forms.ChoiceField(
        label=_("Language"), required=False,
        choices=[("", _("The organization's default")), *Language.choices],
    )  # fmt: skip
    timezone = forms.ChoiceField(label=_("Time zone"), required=False, choices=())

    def __init__(self, *args: Any, organization_zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        blank = _("The organization's (%(zone)s)") % {"zone": organization_zone}
        zone = self.fields["timezone"]
        assert isinstance(zone, forms.ChoiceField)
        zone.choices = [("", blank), *_zone_choices()]
