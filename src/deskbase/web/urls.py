"""The agent workspace (/desk/), the customer portal (/portal/) and tenant administration
(/manage/)."""

from django.urls import path

from deskbase.web.views import dashboard, desk, portal, search, tickets
from deskbase.web.views.manage import (
    canned,
    holidays,
    notifications,
    organization,
    people,
    sla,
    teams,
)

app_name = "web"

urlpatterns = [
    # ---- agent workspace
    path("desk/", desk.queue, name="desk"),
    path("desk/queues/<slug:slug>/", desk.queue, name="queue"),
    path("desk/next/", desk.next_ticket, name="next"),
    path("desk/availability", desk.availability, name="availability"),
    path("desk/tickets/<int:number>/", desk.ticket_page, name="ticket"),
    path("desk/tickets/<int:number>/edit", desk.ticket_edit, name="ticket_edit"),
    path("desk/tickets/<int:number>/status", desk.ticket_status, name="ticket_status"),
    path("desk/tickets/<int:number>/assign", desk.ticket_assign, name="ticket_assign"),
    path("desk/tickets/<int:number>/reply", desk.ticket_reply, name="ticket_reply"),
    path("desk/tickets/<int:number>/attach", desk.ticket_attach, name="ticket_attach"),
    path("desk/tickets/<int:number>/merge", desk.ticket_merge, name="ticket_merge"),
    path("desk/tickets/<int:number>/delete", desk.ticket_delete, name="ticket_delete"),
    path("desk/tickets/<int:number>/restore", desk.ticket_restore, name="ticket_restore"),
    path("desk/tickets/<int:number>/presence", desk.presence, name="ticket_presence"),
    path("desk/tickets/<int:number>/canned", desk.canned_render, name="ticket_canned"),
    path("desk/dashboard/", dashboard.dashboard, name="dashboard"),
    path("desk/dashboard/live", dashboard.dashboard_live, name="dashboard_live"),
    path("desk/search/", search.search_page, name="search"),
    path("desk/search/suggest", search.suggest, name="search_suggest"),
    path("desk/search/<int:search_id>/opened", search.search_opened, name="search_opened"),
    path("files/<int:attachment_id>/", tickets.download, name="download"),
    # ---- customer portal
    path("portal/", portal.my_tickets, name="portal"),
    path("portal/new/", portal.new_ticket, name="portal_new"),
    path("portal/tickets/<int:number>/", portal.ticket_page, name="portal_ticket"),
    path("portal/tickets/<int:number>/reply", portal.reply, name="portal_reply"),
    path("portal/tickets/<int:number>/close", portal.close, name="portal_close"),
    path("portal/tickets/<int:number>/rate", portal.rate, name="portal_rate"),
    # ---- tenant administration
    path("manage/", organization.index, name="manage"),
    path("manage/organization/", organization.organization, name="manage_organization"),
    path("manage/organization/holidays", holidays.holiday_add, name="manage_holiday"),
    path("manage/organization/holidays/<int:holiday_id>/remove", holidays.holiday_remove,
         name="manage_holiday_remove"),
    path("manage/notifications/", notifications.notifications, name="manage_notifications"),
    path("manage/sla/<int:policy_id>/", sla.sla_edit, name="manage_sla_edit"),
    path("manage/sla/", sla.sla_policies, name="manage_sla"),
    path("manage/sla/<int:policy_id>/deactivate", sla.sla_deactivate,
         name="manage_sla_deactivate"),
    path("manage/teams/", teams.teams, name="manage_teams"),
    path("manage/teams/<int:team_id>/members", teams.team_member_add,
         name="manage_team_member"),
    path("manage/teams/<int:team_id>/members/<int:user_id>/remove", teams.team_member_remove,
         name="manage_team_member_remove"),
    path("manage/people/", people.people_list, name="manage_people"),
    path("manage/people/<int:user_id>/", people.person_edit, name="manage_person"),
    path("manage/people/<int:user_id>/remove", people.person_remove, name="manage_person_remove"),
    path("manage/people/<int:user_id>/restore", people.person_restore,
         name="manage_person_restore"),
    path("manage/canned/", canned.canned_responses, name="manage_canned"),
    path("manage/canned/<int:canned_id>/delete", canned.canned_delete,
         name="manage_canned_delete"),
    path("manage/canned/<int:canned_id>/", canned.canned_edit, name="manage_canned_edit"),
]  # fmt: skip
