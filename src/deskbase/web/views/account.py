"""Signing in (with a second step when the person has an authenticator) and one's own
security page: two-factor sign-in, recovery codes, sessions, password.

The password step names the organization as before. A person with two-factor sign-in
is not signed in by it: the session only remembers who passed the password (for five
minutes, five codes at most) and the second step signs them in. Staff of an
organization that requires two-factor sign-in and have none are signed in but sent
to the set-up page until it is done (TwoFactorEnrolmentMiddleware).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from deskbase import cached
from deskbase.accounts import oidc, passkeys, session_control, throttle, two_factor
from deskbase.accounts.backends import organization_id_for_slug
from deskbase.accounts.forms import PreferencesForm, SignInForm
from deskbase.accounts.models import Passkey, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.accounts.services import user_update
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import set_tenant, tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.access import caller_organization
from deskbase.web.views.common import domain_errors

PENDING = "_deskbase_2fa_pending"
ENROL = "_deskbase_2fa_enrol"
PENDING_SECONDS = 300
PENDING_TRIES = 5
BACKEND = "deskbase.accounts.backends.TenantEmailBackend"


def _safe_next(request: HttpRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("home")


def finish_sign_in(request: HttpRequest, user: User, *, enrol: bool | None = None) -> None:
    """After every factor: the session, and the enrolment the organization may require
    (`enrol`, when the caller knows it already)."""
    login(request, user, backend=BACKEND)
    if enrol if enrol is not None else two_factor.enrolment_required(user):
        request.session[ENROL] = True


class SignInView(LoginView):
    template_name = "deskbase/login.html"
    authentication_form = SignInForm

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        has_device, enrol = two_factor.sign_in_state(user)
        if has_device:
            self.request.session[PENDING] = {
                # the throttle's names: a wrong code counts as a failed sign-in
                "slug": form.cleaned_data.get("organization", ""), "email": user.email,
                "org": user.tenant_id, "user": user.id, "at": time.time(), "tries": 0,
                "next": self.get_redirect_url(),
            }  # fmt: skip
            return redirect("login_verify")
        finish_sign_in(self.request, user, enrol=enrol)
        if enrol:
            return redirect("web:two_factor_setup")
        return redirect(self.get_success_url())


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    return pending


def _count_failure(request: HttpRequest, pending: dict[str, Any]) -> None:
    """A wrong second factor counts against the account like a wrong password, so
    restarting from the password step does not give an endless supply of guesses."""
    throttle.record_failure(
        pending.get("slug", ""), pending.get("email", ""), request.META.get("REMOTE_ADDR", "")
    )


def sign_in_verify(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, or a recovery code."""
    pending = _pending(request)
    if pending is None:
        messages.error(request, gettext("Sign in again: the first step has expired."))
        return redirect("login")
    error = ""
    if request.method == "POST":
        organization = Organization(id=pending["org"])  # the services take its id
        with tenant(organization.id, savepoint=False):
            user = User.objects.filter(id=pending["user"], is_active=True).first()
        ok = user is not None and two_factor.second_factor_verify(
            organization=organization, actor=user, code=request.POST.get("code", ""),
            request=request,
        )  # fmt: skip
        if ok and user is not None:
            del request.session[PENDING]
            set_tenant(user.tenant_id)  # the request's transaction, as the password step does
            finish_sign_in(request, user)
            return redirect(_safe_next(request, pending.get("next") or ""))
        _count_failure(request, pending)
        pending["tries"] += 1
        if pending["tries"] >= PENDING_TRIES:
            del request.session[PENDING]
            messages.error(request, gettext("Too many wrong codes: sign in again."))
            return redirect("login")
        request.session[PENDING] = pending
        error = gettext(
            "That code is not valid. Try the code your app shows now, or a recovery code."
        )
    status = 422 if error else 200
    with tenant(pending["org"], savepoint=False):
        has_passkey = Passkey.objects.filter(user_id=pending["user"]).exists()
    return render(request, "deskbase/login_verify.html", {
        "error": error, "has_passkey": has_passkey,
    }, status=status)  # fmt: skip


# ------------------------------------------------------------------ own security page
def _security_context(request: AuthedRequest) -> dict[str, Any]:
    user = request.user
    sessions = session_control.open_sessions(organization_id=user.tenant_id, user_id=user.id)
    for row in sessions:
        row.device = session_control.device_name(row.user_agent)  # type: ignore[attr-defined]  # for the page
    return {
        "two_factor_on": two_factor.has_two_factor(user),
        "codes_left": two_factor.recovery_codes_left(user),
        "sessions": sessions,
        "current_session": session_control.current_session_id(request),
        "required": two_factor.required_for(user),
        "passkeys": passkeys.passkeys_of(user),
        "app_on": two_factor.device_of(user) is not None,
    }


def _signed_in(view: Any) -> Any:
    from django.contrib.auth.decorators import login_required

    return login_required(domain_errors(view))


def _preferences_form(request: AuthedRequest, data: Any = None) -> PreferencesForm:
    user = request.user
    organization = cached.organization_settings(user.tenant_id)
    return PreferencesForm(
        data, initial={"language": user.language, "timezone": user.timezone},
        organization_zone=organization.timezone,
    )  # fmt: skip


@_signed_in
def security(request: AuthedRequest) -> HttpResponse:
    context = {**_security_context(request), "preferences": _preferences_form(request)}
    return render(request, "web/account/security.html", context)


@_signed_in
@require_POST
def preferences(request: AuthedRequest) -> HttpResponse:
    """One's language and time zone; a refused value shows on the form, nothing saved."""
    form = _preferences_form(request, request.POST)
    if form.is_valid():
        try:
            user_update(
                organization=caller_organization(request.user), actor=request.user,
                user=request.user, **form.cleaned_data,
            )  # fmt: skip
        except ValidationFailed as error:
            for field, message in error.errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            with translation.override(form.cleaned_data["language"] or None):
                messages.success(request, gettext("Language and time zone saved."))
            return redirect("web:security")
    context = {**_security_context(request), "preferences": form}
    return render(request, "web/account/security.html", context, status=422)


@_signed_in
def two_factor_setup(request: AuthedRequest) -> HttpResponse:
    """GET: a new secret as a QR code. POST: the first code turns it on; codes shown once."""
    user = request.user
    organization = caller_organization(user)
    error = ""
    if request.method == "POST":
        try:
            codes = two_factor.totp_confirm(
                organization=organization, actor=user, code=request.POST.get("code", ""),
                request=request,
            )  # fmt: skip
        except ValidationFailed as failed:
            error = " ".join(failed.errors.get("code", [gettext("That code is not valid.")]))
        else:
            request.session.pop(ENROL, None)
            return render(request, "web/account/recovery_codes.html", {"codes": codes})
    if two_factor.device_of(user) is not None:
        return redirect("web:security")
    secret = two_factor.pending_secret(user)
    if secret is None or request.method == "GET":
        secret = two_factor.totp_begin(organization=organization, actor=user)
    uri = two_factor.provisioning_uri(user, secret, Organization.objects.get(pk=user.tenant_id))
    return render(request, "web/account/two_factor_setup.html", {
        "secret": secret, "qr": two_factor.qr_svg(uri), "error": error,
        "required": bool(request.session.get(ENROL)),
    }, status=422 if error else 200)  # fmt: skip


@require_POST
@_signed_in
def recovery_codes_renew(request: AuthedRequest) -> HttpResponse:
    codes = two_factor.recovery_codes_renew(
        organization=caller_organization(request.user), actor=request.user,
        code=request.POST.get("code", ""),
    )  # fmt: skip
    return render(request, "web/account/recovery_codes.html", {"codes": codes})


@require_POST
@_signed_in
def two_factor_off(request: AuthedRequest) -> HttpResponse:
    two_factor.two_factor_disable(
        organization=caller_organization(request.user), actor=request.user,
        code=request.POST.get("code", ""),
    )  # fmt: skip
    messages.success(request, gettext("Two-factor sign-in is off."))
    return redirect("web:security")


@require_POST
@_signed_in
def session_end(request: AuthedRequest) -> HttpResponse:
    raw = request.POST.get("session", "")
    session_id = int(raw) if raw.isdigit() else 0
    session_control.session_end(
        organization=caller_organization(request.user), actor=request.user,
        session_id=session_id, request=request,
    )  # fmt: skip
    if session_id == session_control.current_session_id(request):
        return redirect("login")
    messages.success(request, gettext("The session has ended."))
    if request.headers.get("HX-Request"):
        return render(request, "web/account/sessions.html", _security_context(request))
    return redirect("web:security")


@require_POST
@_signed_in
def password_change(request: AuthedRequest) -> HttpResponse:
    ended = session_control.password_change(
        organization=caller_organization(request.user), actor=request.user,
        current_password=request.POST.get("current_password", ""),
        new_password=request.POST.get("new_password", ""), request=request,
    )  # fmt: skip
    messages.success(
        request,
        gettext("Password changed; %(ended)s other session(s) signed out.") % {"ended": ended},
    )
    return redirect("web:security")


# ------------------------------------------------------------------ single sign-on
def _sso_refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "deskbase/login_sso.html", {"sso_error": message}, status=403)


@require_GET
def sso_begin(request: HttpRequest) -> HttpResponse:
    """Ask for the organization, then send the browser to its identity provider."""
    if "organization" not in request.GET:
        return render(request, "deskbase/login_sso.html")
    slug = request.GET.get("organization", "")[:63]
    org_id = organization_id_for_slug(slug) if slug else None
    if org_id is None:
        return _sso_refused(request, gettext("This organization does not use single sign-on."))
    try:
        target = oidc.begin(
            session=request.session, organization_id=org_id,
            redirect_uri=request.build_absolute_uri(reverse("sso_callback")),
        )  # fmt: skip
    except oidc.SsoRefused as refused:
        return _sso_refused(request, str(refused))
    return redirect(target)


@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    """Back from the identity provider: verify its answer and sign the person in."""
    if request.GET.get("error"):
        oidc.abandon(session=request.session, state=request.GET.get("state", ""))
        return _sso_refused(request, gettext("The identity provider did not sign you in."))
    try:
        done = oidc.complete(
            session=request.session, state=request.GET.get("state", ""),
            code=request.GET.get("code", ""), request=request,
        )  # fmt: skip
    except oidc.SsoRefused as refused:
        return _sso_refused(request, str(refused))
    set_tenant(done.user.tenant_id)
    finish_sign_in(request, done.user, enrol=False)  # the provider owns the second factor
    return redirect("home")


# ------------------------------------------------------------------ passkeys (WebAuthn)
REGISTERING = "_deskbase_passkey_challenge"


def relying_party(request: HttpRequest) -> tuple[str, str]:
    """The WebAuthn relying party id (the host name) and origin of this request."""
    host = request.get_host()  # checked against ALLOWED_HOSTS
    return urllib.parse.urlsplit(f"//{host}").hostname or host, f"{request.scheme}://{host}"


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _refused(message: str, status: int = 422) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@require_POST
@_signed_in
def passkey_options(request: AuthedRequest) -> HttpResponse:
    rp_id, _ = relying_party(request)
    options, challenge = passkeys.registration_options(user=request.user, rp_id=rp_id)
    request.session[REGISTERING] = base64.b64encode(challenge).decode()
    return HttpResponse(options, content_type="application/json")


@require_POST
@_signed_in
def passkey_add(request: AuthedRequest) -> HttpResponse:
    challenge = request.session.pop(REGISTERING, None)
    if challenge is None:
        return _refused(gettext("Start adding the passkey again."))
    rp_id, origin = relying_party(request)
    body = _json_body(request)
    try:
        _, codes = passkeys.passkey_add(
            organization=caller_organization(request.user), actor=request.user,
            credential=body.get("credential"), challenge=base64.b64decode(challenge),
            rp_id=rp_id, origin=origin, name=str(body.get("name") or ""), request=request,
        )  # fmt: skip
    except ValidationFailed as failed:
        return _refused(" ".join(failed.errors.get("credential", [gettext("Not accepted.")])))
    request.session.pop(ENROL, None)
    return JsonResponse({"codes": codes})


@require_POST
@_signed_in
def passkey_remove(request: AuthedRequest) -> HttpResponse:
    raw = request.POST.get("passkey", "")
    passkeys.passkey_remove(
        organization=caller_organization(request.user), actor=request.user,
        passkey_id=int(raw) if raw.isdigit() else 0, request=request,
    )  # fmt: skip
    messages.success(request, gettext("The passkey is removed."))
    return redirect("web:security")


def sign_in_passkey(request: HttpRequest) -> HttpResponse:
    """The second step by passkey: GET the options, POST the browser's answer."""
    pending = _pending(request)
    if pending is None:
        return _refused(gettext("Sign in again: the first step has expired."), 403)
    rp_id, origin = relying_party(request)
    with tenant(pending["org"], savepoint=False):
        user = User.objects.filter(id=pending["user"], is_active=True).first()
    if user is None:
        return _refused(gettext("Sign in again."), 403)
    if request.method == "GET":
        with tenant(pending["org"], savepoint=False):
            options, challenge = passkeys.authentication_options(user=user, rp_id=rp_id)
        pending["challenge"] = base64.b64encode(challenge).decode()
        request.session[PENDING] = pending
        return HttpResponse(options, content_type="application/json")
    challenge = pending.pop("challenge", None)  # one answer per challenge
    ok = challenge is not None and passkeys.passkey_check(
        organization=Organization(id=pending["org"]), actor=user,
        credential=_json_body(request).get("credential"), challenge=base64.b64decode(challenge),
        rp_id=rp_id, origin=origin,
    )  # fmt: skip
    if not ok:
        _count_failure(request, pending)
        pending["tries"] += 1
        if pending["tries"] >= PENDING_TRIES:
            del request.session[PENDING]
            return _refused(gettext("Too many failed attempts: sign in again."), 403)
        request.session[PENDING] = pending
        return _refused(gettext("That passkey was not accepted."))
    del request.session[PENDING]
    set_tenant(user.tenant_id)
    finish_sign_in(request, user)
    return JsonResponse({"redirect": _safe_next(request, pending.get("next") or "")})
