"""The bell, the notification list and the settings grid in the agent's desk."""

from __future__ import annotations

import pytest
from django import template
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.core.tenancy import tenant
from deskbase.notifications.models import Notification, Preference
from deskbase.tickets import services
from tests.tickets.factories import open_ticket
from tests.web.helpers import assert_staff_only, queries_of, signed_in

pytestmark = pytest.mark.django_db


def assigned(world, count: int) -> list[int]:
    for _ in range(count):
        services.ticket_assign(organization=world.org, actor=world.manager,
                               ticket=open_ticket(world), assignee=world.agent)  # fmt: skip
    with tenant(world.org):
        return list(Notification.objects.filter(recipient=world.agent).order_by("id")
                    .values_list("id", flat=True))  # fmt: skip


def test_the_header_shows_the_unread_count_with_one_query(tenant_a):
    assigned(tenant_a, 2)
    client = signed_in(tenant_a.agent)
    response = client.get("/desk/notifications/bell")
    assert response.status_code == 200
    assert b'aria-label="Notifications: 2 unread"' in response.content
    assert b'hx-trigger="every 15s"' in response.content
    # The bell in a page's header costs one query: the count
    from deskbase.notifications import selectors

    with tenant(tenant_a.org), CaptureQueriesContext(connection) as captured:
        assert selectors.unread_count(organization_id=tenant_a.org.id, user=tenant_a.agent) == 2
    assert len(captured.captured_queries) == 1
    page = client.get("/desk/notifications/settings/")
    assert b'aria-label="Notifications: 2 unread"' in page.content


def test_the_list_keeps_its_query_count_from_1_to_50_rows(tenant_a):
    client = signed_in(tenant_a.agent)
    assigned(tenant_a, 1)
    queries_of(client, "/desk/notifications/")
    one = queries_of(client, "/desk/notifications/")
    assigned(tenant_a, 49)
    fifty = queries_of(client, "/desk/notifications/")
    assert one == fifty
    assert signed_in(tenant_a.agent).get("/desk/notifications/").content.count(
        b'class="notification unread"') == 50  # fmt: skip


def test_marking_read_on_the_page(tenant_a, tenant_b):
    first, _second = assigned(tenant_a, 2)
    (theirs,) = assigned(tenant_b, 1)
    client = signed_in(tenant_a.agent)
    assert client.post(f"/desk/notifications/{first}/read").status_code == 302
    assert b"Notifications: 1 unread" in client.get("/desk/notifications/bell").content
    # Another tenant's entry answers like a missing one, and stays unread
    assert client.post(f"/desk/notifications/{theirs}/read").status_code == 404
    with tenant(tenant_b.org):
        assert Notification.objects.get(pk=theirs).read_at is None
    client.post("/desk/notifications/read-all")
    assert b"Notifications: 0 unread" in client.get("/desk/notifications/bell").content


def test_the_settings_grid_saves_the_choices(tenant_a):
    client = signed_in(tenant_a.agent)
    page = client.get("/desk/notifications/settings/")
    assert b"New ticket" in page.content
    assert b"SLA breached" in page.content
    response = client.post("/desk/notifications/settings/", {
        "new_ticket-scope": "all", "new_ticket-in_app": "on", "assigned-mail": "on",
    })  # fmt: skip
    assert response.status_code == 302
    with tenant(tenant_a.org):
        saved = {p.reason: (p.scope, p.in_app, p.mail)
                 for p in Preference.objects.filter(user=tenant_a.agent)}  # fmt: skip
    assert saved["new_ticket"] == ("all", True, False)
    assert saved["assigned"] == ("mine", False, True)
    refused = client.post("/desk/notifications/settings/", {"reopened-scope": "galaxy"})
    assert refused.status_code == 422


@pytest.mark.parametrize(
    "url", ["/desk/notifications/", "/desk/notifications/settings/", "/desk/notifications/bell"]
)
def test_notification_pages_are_for_staff(tenant_a, url):
    assert_staff_only(tenant_a, url)


def test_the_bell_of_an_error_page_after_a_failed_statement_runs_no_query(tenant_a):
    # Given a request whose transaction is waiting for its rollback (a statement failed,
    # and an error page is being rendered)
    from django.db import transaction

    from deskbase.web.templatetags import deskbase_web

    with transaction.atomic():
        transaction.set_rollback(True)
        # When the header's bell is rendered, then it shows no count instead of failing
        bell = deskbase_web.notification_bell(template.Context({"user": tenant_a.agent}))
        transaction.set_rollback(False)
    assert bell["unread_shown"] == ""
