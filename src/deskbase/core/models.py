"""Shared base models arrive with the helpdesk domain; the module makes post_migrate fire."""
