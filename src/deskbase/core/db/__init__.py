"""deskbase's database backend: Django's PostgreSQL backend that remembers the tenant it set.

ENGINE = "deskbase.core.db". See base.py.
"""
