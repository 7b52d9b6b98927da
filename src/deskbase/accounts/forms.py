from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm

from deskbase.accounts import throttle


class SignInForm(AuthenticationForm):
    """Organization, email and password: emails are unique per organization.

    Failed attempts are throttled per account and per address (accounts.throttle).
    """

    organization = forms.SlugField(max_length=63, label="Organization")
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your organization, email address and password did not match.",
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
