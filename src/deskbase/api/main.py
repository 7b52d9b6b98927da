"""The API: /api/v1/..., its OpenAPI spec at /api/openapi.json, docs at /api/docs."""

from __future__ import annotations

from ninja import NinjaAPI

from deskbase.api import errors
from deskbase.api.account import router as account_router
from deskbase.api.analytics import router as analytics_router
from deskbase.api.attachments import router as attachments_router
from deskbase.api.audit import router as audit_router
from deskbase.api.auth import AUTH
from deskbase.api.automation import router as automation_router
from deskbase.api.bulk import router as bulk_router
from deskbase.api.canned import router as canned_router
from deskbase.api.custom_fields import router as custom_fields_router
from deskbase.api.customers import router as customers_router
from deskbase.api.knowledge import router as knowledge_router
from deskbase.api.mail import router as mail_router
from deskbase.api.notifications import router as notifications_router
from deskbase.api.organization import router as organization_router
from deskbase.api.parser import JSONParser
from deskbase.api.people import router as people_router
from deskbase.api.privacy import router as privacy_router
from deskbase.api.privacy import sessions_router
from deskbase.api.renderers import ORJSONRenderer
from deskbase.api.savedviews import router as savedviews_router
from deskbase.api.search import router as search_router
from deskbase.api.ticket_changes import router as ticket_changes_router
from deskbase.api.ticket_work import router as ticket_work_router
from deskbase.api.tickets import router as tickets_router
from deskbase.api.webhooks import router as webhooks_router

api = NinjaAPI(
    title="deskbase API",
    version="1",
    description=(
        "The helpdesk's API. Authenticate with a browser session (send the CSRF token) or a "
        "personal token (`Authorization: Bearer dsk_…`). Errors are JSON problems "
        "(RFC 9457) naming the failing fields; another organization's objects are 404. "
        "Bodies are JSON sent as `application/json` (another media type is a 415)."
    ),
    auth=AUTH,
    urls_namespace="api",
    renderer=ORJSONRenderer(),
    parser=JSONParser(),
)
errors.install(api)
api.add_router("/v1", account_router)
api.add_router("/v1/tickets/changes", ticket_changes_router)
api.add_router("/v1/tickets", tickets_router)
api.add_router("/v1", ticket_work_router)
api.add_router("/v1", attachments_router)
api.add_router("/v1", canned_router)
api.add_router("/v1", customers_router)
api.add_router("/v1", people_router)
api.add_router("/v1", organization_router)
api.add_router("/v1", audit_router)
api.add_router("/v1/privacy", privacy_router)
api.add_router("/v1", sessions_router)
api.add_router("/v1/search", search_router)
api.add_router("/v1", mail_router)
api.add_router("/v1/kb", knowledge_router)
api.add_router("/v1", webhooks_router)
api.add_router("/v1", automation_router)
api.add_router("/v1/bulk", bulk_router)
api.add_router("/v1", savedviews_router)
api.add_router("/v1", custom_fields_router)
api.add_router("/v1", notifications_router)


api.add_router("/v1/analytics", analytics_router)
