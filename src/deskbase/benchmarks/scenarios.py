"""In-process scenarios: the selectors and services called directly, as the application role.

Each call is what one request of the future API does in the data layer, no
more: no session, no user lookup, no serialization (docs in bench/README.md).
Writers tag their tickets `deskbase-bench` and open them for a dedicated bench
customer, unassigned, so the subjects of later runs (busiest agent, busiest
customer, the detail ticket) never change because of the bench.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deskbase.accounts.models import Role, User
from deskbase.accounts.services import user_create
from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.registry import Prepared, inprocess, inserts_into, selects_from
from deskbase.benchmarks.subjects import (
    BENCH_CUSTOMER_EMAIL,
    BENCH_TAG,
    DEEP_PAGE,
    PAGE_SIZE,
    Subjects,
)
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets import selectors, services
from deskbase.tickets.models import Ticket

TICKET_PAGE = selects_from("tickets_ticket")


def _load(subjects: Subjects, user_id: int) -> tuple[Organization, User]:
    """The organization and one of its users, read as the application role."""
    with tenant(subjects.organization_id):
        organization = Organization.objects.get(pk=subjects.organization_id)
        return organization, User.objects.get(pk=user_id)


def _same_call(call: Callable[[], Any]) -> Callable[[int], Callable[[], Any]]:
    """A worker factory for reads: every thread makes the same call."""
    return lambda index: call


def _queue(organization: Organization, actor: User, queue: str, after: str | None = None):
    return selectors.ticket_queue(
        organization=organization, actor=actor, queue=queue, after=after, limit=PAGE_SIZE
    )


def _queue_first_page(organization: Organization, user: User, slug: str) -> Prepared:
    """The first page of the queue `slug` as `user` sees it, called the same way each time."""
    rows = len(_queue(organization, user, slug).items)
    return Prepared(
        _same_call(lambda: _queue(organization, user, slug)),
        details={"queue": slug, "page": 1, "rows": rows},
        tenant=(organization.id, user.id),
    )


@inprocess("queue_first_page", "the busiest agent's own queue ('mine'), first page of 25",
           main_sql=TICKET_PAGE)  # fmt: skip
def queue_first_page(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)
    return _queue_first_page(organization, agent, "mine")


@inprocess("queue_page_40", "page 40 of a deep queue by keyset (next_cursor followed 39 times)",
           main_sql=TICKET_PAGE)  # fmt: skip
def queue_page_40(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)
    queue, after, page = subjects.deep_queue, None, 1
    # Setup, not timed. A queue shorter than 40 pages stops at its last page.
    while page < DEEP_PAGE:
        cursor = _queue(organization, agent, queue, after).next_cursor
        if cursor is None:
            break
        after, page = cursor, page + 1
    rows = len(_queue(organization, agent, queue, after).items)
    return Prepared(
        _same_call(lambda: _queue(organization, agent, queue, after)),
        details={"queue": queue, "page": page, "wanted_page": DEEP_PAGE, "rows": rows},
        tenant=(organization.id, agent.id),
    )


@inprocess("ticket_detail", "a ticket with its conversation (20 comments, or the most there are)")
def ticket_detail(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    if subjects.detail_number is None:
        raise Skip("the organization has no ticket")
    organization, agent = _load(subjects, subjects.agent_id)
    number = subjects.detail_number

    def call() -> selectors.TicketDetail:
        return selectors.ticket_detail(organization=organization, actor=agent, number=number)

    return Prepared(
        _same_call(call),
        details={"number": number, "comments": len(call().comments)},
        tenant=(organization.id, agent.id),
    )


@inprocess("customer_tickets", "the busiest customer's own tickets, first page of 25",
           main_sql=TICKET_PAGE)  # fmt: skip
def customer_tickets(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    if subjects.customer_id is None:
        raise Skip("the organization has no customer")
    organization, customer = _load(subjects, subjects.customer_id)
    return _queue_first_page(organization, customer, "customer")


def bench_customer(organization: Organization) -> User:
    """The customer the bench opens its tickets for (created once per organization)."""
    with tenant(organization):
        existing = User.objects.filter(email=BENCH_CUSTOMER_EMAIL).first()
    if existing is not None:
        return existing
    return user_create(
        organization=organization, actor=None, email=BENCH_CUSTOMER_EMAIL,
        role=Role.CUSTOMER, full_name="deskbase bench",
    )  # fmt: skip


def _open_bench_ticket(organization: Organization, agent: User, customer: User) -> Ticket:
    return services.ticket_create(
        organization=organization, actor=agent, customer=customer,
        subject="Benchmark ticket", description="Written by deskbase bench.",
        channel="api", tags=[BENCH_TAG],
    )  # fmt: skip


@inprocess("ticket_create", "the busiest agent opens a ticket (adds a row per call)",
           main_sql=inserts_into("tickets_ticket"), writes=True)  # fmt: skip
def ticket_create(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)
    customer = bench_customer(organization)
    return Prepared(
        _same_call(lambda: _open_bench_ticket(organization, agent, customer)),
        details={"customer": customer.email, "tag": BENCH_TAG},
        tenant=(organization.id, agent.id),
    )


@inprocess("comment_add", "the busiest agent replies on a ticket (adds a row per call)",
           main_sql=inserts_into("tickets_ticketcomment"), writes=True)  # fmt: skip
def comment_add(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)
    customer = bench_customer(organization)

    def worker(index: int) -> Callable[[], Any]:
        # A ticket per thread, so threads do not queue on one row lock, answered
        # once in setup: the first staff reply (first response, SLA) costs more.
        ticket = _open_bench_ticket(organization, agent, customer)
        _reply(organization, agent, ticket)
        return lambda: _reply(organization, agent, ticket)

    return Prepared(worker, details={"customer": customer.email, "tag": BENCH_TAG},
                    tenant=(organization.id, agent.id))  # fmt: skip


def _reply(organization: Organization, agent: User, ticket: Ticket):
    return services.comment_add(
        organization=organization, actor=agent, ticket=ticket, body="A benchmark reply."
    )
