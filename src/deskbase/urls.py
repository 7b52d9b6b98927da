from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

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
    # The admin signs in through the same form: it needs the organization.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    # The agent workspace, the customer portal and tenant administration (deskbase.web).
    path("", include("deskbase.web.urls")),
]
