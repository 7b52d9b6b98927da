from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "deskbase.tickets"
    label = "tickets"
