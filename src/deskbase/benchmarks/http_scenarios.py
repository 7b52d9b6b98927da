"""HTTP scenarios: requests to a running server (`deskbase up`), timed by the client.

Queries and database time come from the server's Server-Timing header. Besides
the pages (`health`, `login_page`, `home`), the REST API's drivers of the ticket
scenarios live here under the names of their in-process twins (one name, both
measurements: the HTTP run gets the twin's raw SQL and the ratio). They call
`/api/v1` with personal API tokens made for the subjects in the database the
server shares (bench/README.md, "HTTP mode against `deskbase up`").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from deskbase.accounts.models import ApiToken, User
from deskbase.accounts.tokens import token_create
from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.httpclient import HttpClient, HttpResult, HttpStatusError
from deskbase.benchmarks.registry import Prepared, http
from deskbase.benchmarks.scenarios import _load, _open_bench_ticket, _reply, bench_customer
from deskbase.benchmarks.subjects import BENCH_TAG, DEEP_PAGE, PAGE_SIZE
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization

API = "/api/v1"
TOKEN_NAME = "deskbase bench"  # noqa: S105 - the tokens' label, not a secret
# Long enough for any run; each run deletes its subjects' earlier bench tokens first.
TOKEN_LIFETIME = timedelta(hours=24)
# The in-process "mine" and "open" queues are the active statuses (tickets.selectors).
ACTIVE = (("status", "new"), ("status", "open"), ("status", "pending"))


def _anonymous_get(ctx: Context, path: str) -> Prepared:
    """GET `path`, each thread with its own client."""

    def worker(index: int) -> Callable[[], HttpResult]:
        client = ctx.http_client()
        return lambda: client.get(path)

    return Prepared(worker, details={"path": path})


@http("health", "GET /health: the database check a load balancer polls")
def health(ctx: Context) -> Prepared:
    return _anonymous_get(ctx, "/health")


@http("login_page", "GET /login/: the sign-in form, anonymous")
def login_page(ctx: Context) -> Prepared:
    return _anonymous_get(ctx, "/login/")


@http("home", "GET / signed in: session, tenant and user lookup, one template")
def home(ctx: Context) -> Prepared:
    first, email = ctx.agent_client()
    if first.get("/", expect=(200, 302)).status != 200:
        raise Skip(
            "the server did not take the bench's session: does it share this database and "
            "DESKBASE_SECRET_KEY? (or sign in with --login SLUG:EMAIL:PASSWORD)"
        )
    clients = [first]  # thread 0 reuses the client just checked

    def worker(index: int) -> Callable[[], HttpResult]:
        client: HttpClient = clients[0] if index == 0 else ctx.agent_client()[0]
        return lambda: client.get("/")

    return Prepared(worker, details={"path": "/", "signed_in": email})


# ------------------------------------------------------------------ the REST API
def api_token(ctx: Context, user_id: int) -> str:
    """A personal API token for a user of the subjects' organization, without a password.

    Like the sessions of sessions.py, it is written to the database the server
    shares (as the application role, under the tenant). Nothing deletes it when the
    scenario ends (Context closes clients and sessions only), so it expires after
    TOKEN_LIFETIME, and each new one replaces the user's earlier bench tokens.
    """
    subjects = ctx.need_subjects()
    organization = Organization(id=subjects.organization_id)
    with tenant(organization):
        user = User.objects.get(pk=user_id)
        ApiToken.objects.filter(user_id=user.id, name=TOKEN_NAME).delete()
    _, plain = token_create(organization=organization, actor=user, name=TOKEN_NAME,
                            expires_at=timezone.now() + TOKEN_LIFETIME)  # fmt: skip
    return plain


def _api_clients(ctx: Context, user_id: int) -> Callable[[], HttpClient]:
    """A maker of clients (one per thread) that send one new token of the user."""
    token = api_token(ctx, user_id)

    def client() -> HttpClient:
        made = ctx.http_client()
        made.headers["Authorization"] = f"Bearer {token}"
        return made

    return client


def _get(client: HttpClient, path: str) -> HttpResult:
    return client.request("GET", path, expect=(200,))


def _post_json(client: HttpClient, path: str, payload: Any) -> HttpResult:
    """POST a JSON body (HttpClient.request sends forms only); 201 expected."""
    headers = {"Accept": "application/json", "Content-Type": "application/json",
               **client.headers}  # fmt: skip
    result = client._send("POST", client._prefix + path, json.dumps(payload).encode(), headers)
    if result.status != 201:
        raise HttpStatusError(f"POST {path} answered {result.status}, expected (201,)")
    return result


def _tickets_path(params: list[tuple[str, str]]) -> str:
    return f"{API}/tickets?{urlencode(params)}"


def _same_get(make_client: Callable[[], HttpClient], path: str) -> Callable[[int], Any]:
    def worker(index: int) -> Callable[[], HttpResult]:
        client = make_client()
        return lambda: _get(client, path)

    return worker


def _rows(result: HttpResult) -> int:
    return len(json.loads(result.body)["items"])


@http("queue_first_page")
def queue_first_page_http(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    make_client = _api_clients(ctx, subjects.agent_id)
    path = _tickets_path([("assignee", "me"), *ACTIVE, ("limit", str(PAGE_SIZE))])
    rows = _rows(_get(make_client(), path))
    return Prepared(_same_get(make_client, path),
                    details={"path": path, "page": 1, "rows": rows,
                             "signed_in": subjects.agent_email})  # fmt: skip


@http("queue_page_40")
def queue_page_40_http(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    make_client = _api_clients(ctx, subjects.agent_id)
    queue = subjects.deep_queue
    base = [*(ACTIVE if queue == "open" else ()), ("limit", str(PAGE_SIZE))]
    path, page, setup = _tickets_path(base), 1, make_client()
    # Setup, not timed: follow the API's own next_cursor; a short queue stops at its end.
    while page < DEEP_PAGE:
        cursor = json.loads(_get(setup, path).body)["next_cursor"]
        if cursor is None:
            break
        path, page = _tickets_path([*base, ("cursor", cursor)]), page + 1
    rows = _rows(_get(setup, path))
    return Prepared(_same_get(make_client, path),
                    details={"path": path, "queue": queue, "page": page,
                             "wanted_page": DEEP_PAGE, "rows": rows})  # fmt: skip


@http("ticket_detail")
def ticket_detail_http(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    if subjects.detail_number is None:
        raise Skip("the organization has no ticket")
    make_client = _api_clients(ctx, subjects.agent_id)
    path = f"{API}/tickets/{subjects.detail_number}"
    comments = len(json.loads(_get(make_client(), path).body)["comments"])
    return Prepared(_same_get(make_client, path),
                    details={"path": path, "number": subjects.detail_number,
                             "comments": comments})  # fmt: skip


@http("customer_tickets")
def customer_tickets_http(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    if subjects.customer_id is None:
        raise Skip("the organization has no customer")
    make_client = _api_clients(ctx, subjects.customer_id)
    path = _tickets_path([("limit", str(PAGE_SIZE))])
    rows = _rows(_get(make_client(), path))
    return Prepared(_same_get(make_client, path),
                    details={"path": path, "page": 1, "rows": rows,
                             "signed_in": subjects.customer_email})  # fmt: skip


@http("ticket_create", writes=True)
def ticket_create_http(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    make_client = _api_clients(ctx, subjects.agent_id)
    organization, _ = _load(subjects, subjects.agent_id)
    customer = bench_customer(organization)
    path = f"{API}/tickets"
    body = {"subject": "Benchmark ticket", "description": "Written by deskbase bench.",
            "customer_id": customer.id, "channel": "api", "tags": [BENCH_TAG]}  # fmt: skip

    def worker(index: int) -> Callable[[], HttpResult]:
        client = make_client()
        return lambda: _post_json(client, path, body)

    return Prepared(worker, details={"path": path, "customer": customer.email, "tag": BENCH_TAG})


@http("comment_add", writes=True)
def comment_add_http(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    make_client = _api_clients(ctx, subjects.agent_id)
    organization, agent = _load(subjects, subjects.agent_id)
    customer = bench_customer(organization)
    body = {"body": "A benchmark reply."}

    def worker(index: int) -> Callable[[], HttpResult]:
        # As in-process: a ticket per thread (no queueing on one row lock), answered once
        # in setup, since the first staff reply (first response, SLA) costs more.
        ticket = _open_bench_ticket(organization, agent, customer)
        _reply(organization, agent, ticket)
        client, path = make_client(), f"{API}/tickets/{ticket.number}/comments"
        return lambda: _post_json(client, path, body)

    return Prepared(worker, details={"path": f"{API}/tickets/{{number}}/comments",
                                     "customer": customer.email, "tag": BENCH_TAG})  # fmt: skip
