from django.contrib.auth import views as auth_views
from django.urls import include, path

from deskbase.accounts.forms import SignInForm
from deskbase.api.main import api
from deskbase.core.health import health
from deskbase.web.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("health", health, name="health"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="deskbase/login.html", authentication_form=SignInForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # No Django admin on the web: it would write past the services' rules and reach
    # tables every tenant shares (auth_group). Tenants administer under /manage/;
    # platform operators use the `deskbase` command (docs/tenancy.md).
    path("api/", api.urls),
    # The agent workspace, the customer portal and tenant administration (deskbase.web).
    path("", include("deskbase.web.urls")),
]
