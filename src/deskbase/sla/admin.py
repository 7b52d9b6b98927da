from django.contrib import admin

from deskbase.sla.models import SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "customer_tier", "first_response_minutes",
                    "resolution_minutes", "business_hours", "is_active")  # fmt: skip
    list_filter = ("priority", "customer_tier", "is_active")
    readonly_fields = [f.name for f in SlaPolicy._meta.fields]
