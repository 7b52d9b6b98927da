"""Every page runs the same number of queries with 1 row as with 50 (docs/web.md)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from deskbase.accounts import services as people
from deskbase.accounts.models import Team, TeamMembership
from deskbase.organizations.services import holiday_add
from deskbase.sla import policies
from deskbase.tickets import canned, services
from deskbase.tickets.attachments import attachment_add
from tests.mail import admin_factories as mail_factories
from tests.tickets.factories import open_ticket
from tests.web.helpers import queries_of, signed_in


def _pages_counts(client, urls, add, n_large: int = 50):
    """Queries of each page after add(0), then after add(1) .. add(n_large - 1)."""
    add(0)
    small = {url: queries_of(client, url) for url in urls}
    for i in range(1, n_large):
        add(i)
    return small, {url: queries_of(client, url) for url in urls}


def _counts(make, n_small: int = 1, n_large: int = 50):
    """Queries of the page after making n_small rows, then after n_large in all."""
    make(n_small)
    small = make.measure()
    make(n_large - n_small)
    large = make.measure()
    return small, large


class Rows:
    """Make rows with `add(i)`, measure the page `url` as `viewer`."""

    def __init__(self, viewer, url, add):
        self.client, self.url, self.add, self.made = signed_in(viewer), url, add, 0

    def __call__(self, n: int) -> None:
        for _ in range(n):
            self.add(self.made)
            self.made += 1

    def measure(self) -> int:
        url = self.url() if callable(self.url) else self.url
        return queries_of(self.client, url)


def _team_of(world) -> Team:
    team = Team.objects.create(organization=world.org, name="Tier 1")
    TeamMembership.objects.create(organization=world.org, team=team, user=world.agent)
    return team


QUEUE_SETUPS = {
    "mine": lambda w, i, ctx: open_ticket(w, assignee=w.agent, subject=f"Mine {i}"),
    "unassigned": lambda w, i, ctx: open_ticket(w, subject=f"Nobody's {i}"),
    "open": lambda w, i, ctx: open_ticket(w, subject=f"Open {i}", priority="high"),
    "recent": lambda w, i, ctx: open_ticket(w, subject=f"Recent {i}"),
    "team": lambda w, i, ctx: open_ticket(w, team=ctx["team"], subject=f"Team {i}"),
    "trash": lambda w, i, ctx: services.ticket_soft_delete(
        organization=w.org, actor=w.agent, ticket=open_ticket(w, subject=f"Gone {i}")
    ),
}


@pytest.mark.parametrize("slug", list(QUEUE_SETUPS))
def test_queue_pages_have_a_fixed_query_count(tenant_a, tenant_b, slug):
    ctx = {"team": _team_of(tenant_a)}
    open_ticket(tenant_b)  # another tenant's rows change nothing either
    rows = Rows(tenant_a.agent, f"/desk/queues/{slug}/",
                lambda i: QUEUE_SETUPS[slug](tenant_a, i, ctx))  # fmt: skip
    small, large = _counts(rows)
    assert small == large


def test_second_queue_page_has_the_same_count(tenant_a):
    client = signed_in(tenant_a.agent)
    for i in range(30):
        open_ticket(tenant_a, subject=f"Open {i}")
    first = client.get("/desk/queues/open/")
    cursor = first.context["next_cursor"]
    assert cursor
    assert queries_of(client, "/desk/queues/open/") == queries_of(
        client, f"/desk/queues/open/?cursor={cursor}"
    )


def test_ticket_page_has_a_fixed_query_count(tenant_a):
    ticket = open_ticket(tenant_a, assignee=tenant_a.agent)
    box = mail_factories.mailbox(tenant_a)
    upload = 0

    def add(i: int) -> None:
        nonlocal upload
        kind = "internal" if i % 2 else "public"
        comment = services.comment_add(organization=tenant_a.org, actor=tenant_a.agent,
                                       ticket=ticket, body=f"Step {i}", kind=kind)  # fmt: skip
        attachment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                       stream=io.BytesIO(f"log {i}".encode()), file_name=f"log{i}.txt",
                       comment=comment)  # fmt: skip
        services.ticket_update(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                               version=ticket.__class__.objects.get(pk=ticket.pk).version,
                               tags=[f"t{i}"])  # fmt: skip
        canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.agent,
                                      name=f"Answer {i}", body="Hello", personal=True)  # fmt: skip
        # The ticket's mail, both ways: shown in the timeline at a fixed cost too.
        mail_factories.inbound(tenant_a, box, state="reply", review_cause="", ticket=ticket,
                               decision="Added because In-Reply-To matched.")  # fmt: skip
        mail_factories.outbound(tenant_a, ticket, state="failed", error="550 No such user")
        upload += 1

    rows = Rows(tenant_a.agent, f"/desk/tickets/{ticket.number}/", add)
    small, large = _counts(rows)
    assert small == large


def test_portal_pages_have_a_fixed_query_count(tenant_a):
    ticket = open_ticket(tenant_a)

    def add(i: int) -> None:
        open_ticket(tenant_a, subject=f"Mine {i}")
        services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                             body=f"Answer {i}")  # fmt: skip
        services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                             body=f"Secret {i}", kind="internal")  # fmt: skip

    urls = ("/portal/", f"/portal/tickets/{ticket.number}/")
    small, large = _pages_counts(signed_in(tenant_a.customer), urls, add)
    assert small == large


def test_administration_pages_have_a_fixed_query_count(tenant_a):
    team = _team_of(tenant_a)
    start = date(2030, 1, 1)

    def add(i: int) -> None:
        person = people.user_create(organization=tenant_a.org, actor=tenant_a.admin,
                                    email=f"agent{i}@acme.test", role="agent")  # fmt: skip
        people.team_add_member(organization=tenant_a.org, actor=tenant_a.admin, team=team,
                               user=person)  # fmt: skip
        people.team_create(organization=tenant_a.org, actor=tenant_a.admin, name=f"Team {i}")
        holiday_add(
            organization=tenant_a.org, actor=None, date=start + timedelta(days=i), name=f"Day {i}"
        )
        canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.admin,
                                      name=f"Shared {i}", body="Hi")  # fmt: skip
        tiers, prios = ("basic", "premium", "enterprise"), ("low", "medium", "high", "urgent")
        if i < len(tiers) * len(prios):
            policies.sla_policy_create(
                organization=tenant_a.org, actor=tenant_a.admin, name=f"P{i}",
                priority=prios[i % 4], customer_tier=tiers[i // 4],
                first_response_minutes=60, resolution_minutes=600,
            )  # fmt: skip

    urls = ("/manage/people/", "/manage/teams/", "/manage/organization/", "/manage/sla/",
            "/manage/canned/")  # fmt: skip
    small, large = _pages_counts(signed_in(tenant_a.admin), urls, add)
    assert small == large
