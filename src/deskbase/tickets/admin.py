"""Django admin for staff to look at the data. Writes belong in the services; the admin
is read-mostly, and row-level security confines it to the signed-in user's tenant."""

from django.contrib import admin

from deskbase.tickets.models import CannedResponse, Category, Ticket, TicketComment, TicketHistory


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CommentInline(ReadOnlyInline):
    model = TicketComment
    fields = ("created_at", "author", "kind", "body_text")
    readonly_fields = fields


class HistoryInline(ReadOnlyInline):
    model = TicketHistory
    fields = ("created_at", "actor", "field", "old_value", "new_value")
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("number", "subject", "status", "priority", "assignee", "sla_breach",
                    "updated_at")  # fmt: skip
    list_filter = ("status", "priority", "channel", "sla_breach")
    search_fields = ("subject",)
    list_select_related = ("assignee",)
    ordering = ("-updated_at",)
    inlines = (CommentInline, HistoryInline)
    readonly_fields = [f.name for f in Ticket._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # tickets are opened through the services (number, SLA, history)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # soft delete only


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "skill")
    exclude = ("organization",)


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "usage_count")
    readonly_fields = [f.name for f in CannedResponse._meta.fields]
