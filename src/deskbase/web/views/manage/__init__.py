"""Tenant administration (/manage/) for admins and managers: organization settings and
business hours, holidays, SLA policies, teams, people, and canned responses (staff).

The views parse forms and render; every rule (who may change whom, passwords, SLA
target bounds, who may add holidays) is the services' (docs/permissions.md). Reads come
from deskbase.web.selectors.
"""
