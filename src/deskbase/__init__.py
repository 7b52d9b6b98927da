"""deskbase: a multi-tenant helpdesk on Django and PostgreSQL."""
