"""HTTP scenarios of the web pages for `deskbase bench` (bench/README.md).

Signed in as the subjects' busiest agent (or --login), like the `home` scenario:
the queue page of all open tickets and the ticket page of the subjects' ticket
with the longest conversation. Queries per request come from Server-Timing.
"""

from __future__ import annotations

from collections.abc import Callable

from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.httpclient import HttpClient, HttpResult
from deskbase.benchmarks.registry import Prepared, http


def _signed_in_get(ctx: Context, path: str) -> Prepared:
    first, email = ctx.agent_client()
    if first.get(path, expect=(200, 302, 403, 404)).status != 200:
        raise Skip(f"GET {path} did not answer 200 for {email}: is it an agent's session?")

    def worker(index: int) -> Callable[[], HttpResult]:
        client: HttpClient = first if index == 0 else ctx.agent_client()[0]
        return lambda: client.get(path)

    return Prepared(worker, details={"path": path, "signed_in": email})


@http("web_queue", "GET /desk/queues/open/: the agent's queue page with its counts")
def web_queue(ctx: Context) -> Prepared:
    return _signed_in_get(ctx, "/desk/queues/open/")


@http("web_queue_by_priority", "GET /desk/queues/open/?sort=priority: all open, by priority")
def web_queue_by_priority(ctx: Context) -> Prepared:
    return _signed_in_get(ctx, "/desk/queues/open/?sort=priority")


@http("web_queue_at_risk", "GET /desk/queues/at_risk/: SLA at risk, by SLA due")
def web_queue_at_risk(ctx: Context) -> Prepared:
    return _signed_in_get(ctx, "/desk/queues/at_risk/")


@http("web_queue_recent", "GET /desk/queues/recent/: every status, by last change")
def web_queue_recent(ctx: Context) -> Prepared:
    return _signed_in_get(ctx, "/desk/queues/recent/")


@http("web_ticket", "GET /desk/tickets/N/: the ticket page, timeline, agents' load, canned")
def web_ticket(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    if subjects.detail_number is None:
        raise Skip("no ticket with a conversation to show")
    return _signed_in_get(ctx, f"/desk/tickets/{subjects.detail_number}/")


@http("web_notification_bell", "GET /desk/notifications/bell: the bell's poll (unread count)")
def web_notification_bell(ctx: Context) -> Prepared:
    return _signed_in_get(ctx, "/desk/notifications/bell")
