from django.contrib.auth import views as auth_views
from django.urls import include, path

from deskbase.api.main import api
from deskbase.core.health import health
from deskbase.web.views.account import (
    SignInView,
    sign_in_passkey,
    sign_in_verify,
    sso_begin,
    sso_callback,
)
from deskbase.web.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("health", health, name="health"),
    path("login/", SignInView.as_view(), name="login"),
    path("login/verify/", sign_in_verify, name="login_verify"),
    path("login/verify/passkey", sign_in_passkey, name="login_verify_passkey"),
    path("login/sso/", sso_begin, name="sso_begin"),
    path("login/sso/callback", sso_callback, name="sso_callback"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # No Django admin on the web: it would write past the services' rules and reach
    # tables every tenant shares (auth_group). Tenants administer under /manage/;
    # platform operators use the `deskbase` command (docs/tenancy.md).
    path("api/", api.urls),
    # The agent workspace, the customer portal and tenant administration (deskbase.web).
    path("", include("deskbase.web.urls")),
]
