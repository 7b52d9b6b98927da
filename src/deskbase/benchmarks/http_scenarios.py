"""HTTP scenarios: requests to a running server (`deskbase up`), timed by the client.

Queries and database time come from the server's Server-Timing header. The
ticket endpoints do not exist yet; the REST API adds its drivers here with
`@http("queue_first_page")` etc., under the names of the in-process scenarios
(bench/README.md, "Adding a scenario").
"""

from __future__ import annotations

from collections.abc import Callable

from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.httpclient import HttpClient, HttpResult
from deskbase.benchmarks.registry import Prepared, http


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
