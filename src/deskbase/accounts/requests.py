"""Requests whose caller is known: the types of `request` in views and API handlers.

Django types `request.user` as a user or an AnonymousUser, and django-ninja sets
`request.auth` without declaring it. Past the guards that let a request in (the web's
`login_required`-based decorators, the API's authenticators in deskbase.api.auth)
the caller is a signed-in user of a tenant: annotating `request` with one of these
classes tells the type checker so. They are annotations only; Django builds the
requests, and nothing is checked or converted at run time (django-ninja recognizes
the `request` parameter by its name, whatever its annotation).
"""

from __future__ import annotations

from django.http import HttpRequest

from deskbase.accounts.models import User


class AuthedRequest(HttpRequest):
    """A web request past a sign-in guard: `user` is the signed-in user."""

    user: User


class ApiRequest(AuthedRequest):
    """An API request past an authenticator: `auth` is the caller (also `user`)."""

    auth: User
