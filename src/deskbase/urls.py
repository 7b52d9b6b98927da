from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from deskbase.core import views
from deskbase.core.health import health

urlpatterns = [
    path("", views.home, name="home"),
    path("health", health, name="health"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="deskbase/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
