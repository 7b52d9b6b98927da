"""Embedded PostgreSQL: the default database of a deskbase checkout."""
