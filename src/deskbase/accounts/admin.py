from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from deskbase.accounts.models import Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "role", "customer_tier", "availability", "is_active")
    list_filter = ("role", "customer_tier", "availability", "is_active")
    search_fields = ("email", "full_name")
    list_select_related = ("organization",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Profile",
            {
                "fields": (
                    "full_name",
                    "role",
                    "customer_tier",
                    "availability",
                    "skills",
                    "max_concurrent_tickets",
                )
            },
        ),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
    )
    add_fieldsets = ((None, {"fields": ("email", "role", "password1", "password2")}),)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    readonly_fields = ("organization",)
