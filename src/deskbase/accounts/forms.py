from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    """Organization, email and password: emails are unique per organization."""

    organization = forms.SlugField(max_length=63, label="Organization")

    field_order = ["organization", "username", "password"]

    def clean(self):
        organization = self.cleaned_data.get("organization")
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if organization and username and password:
            from django.contrib.auth import authenticate

            self.user_cache = authenticate(
                self.request, username=username, password=password, organization=organization
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
