"""An agent downloads a queue as CSV from a live server: the rows are streamed after
the request's own transaction has ended, as the application role."""

from __future__ import annotations

import csv
import io

from deskbase.accounts.models import AuditAction, AuditLog
from tests.e2e.conftest import signed_in_page
from tests.tickets.factories import open_ticket


def test_an_agent_downloads_the_filtered_queue(world, new_page):
    wanted = open_ticket(world, subject="@SUM(1) urgent printer", priority="urgent")
    open_ticket(world, subject="Low printer", priority="low")
    page = signed_in_page(new_page, world.agent.email)
    page.goto("/desk/queues/open/?priority=urgent")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "tickets-open.csv"
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == [str(wanted.number)]
    assert rows[1][1] == "'@SUM(1) urgent printer"
    entry = AuditLog.objects.get(organization_id=world.org.id,
                                 action=AuditAction.TICKETS_EXPORTED)  # fmt: skip
    assert entry.detail["filters"] == {"status": ["new", "open", "pending"],
                                       "priority": ["urgent"]}  # fmt: skip
