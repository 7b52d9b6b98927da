from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from deskbase.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "organization", "role", "is_active")
    list_filter = ("role", "is_active", "organization")
    search_fields = ("email", "full_name")
    list_select_related = ("organization",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "organization", "role")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
    )
    add_fieldsets = (
        (None, {"fields": ("email", "organization", "role", "password1", "password2")}),
    )
