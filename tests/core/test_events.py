"""The event registry: a closed set of declared names, announced around every write."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from deskbase.accounts import services as people
from deskbase.accounts import tokens
from deskbase.accounts.models import ApiToken, User
from deskbase.core import events
from deskbase.core.errors import Vetoed
from deskbase.core.tenancy import tenant
from deskbase.tickets import services
from deskbase.tickets.models import CsatResponse, Ticket, TicketComment
from tests.tickets.factories import open_ticket

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "src" / "deskbase").rglob("*.py"))
REGISTRY = ROOT / "src" / "deskbase" / "core" / "events.py"


@pytest.fixture
def subscribed() -> Iterator[Callable[..., None]]:
    """subscribe(name, phase, handler) for one test; every handler is removed after it."""
    made: list[tuple[Any, Any, str]] = []

    def subscribe(name: Any, phase: str, handler: Any) -> None:
        events.subscribe(name, phase)(handler)
        made.append((name, handler, phase))

    yield subscribe
    for name, handler, phase in made:
        events.unsubscribe(name, handler, phase)


# ------------------------------------------------------------------ the closed set
def test_an_undeclared_name_is_refused_when_subscribing():
    # When a module subscribes to a name nobody declared (a typo), at import time
    with pytest.raises(events.UndeclaredEvent, match=r"'ticket\.craeted' is not declared"):

        @events.subscribe("ticket.craeted", "before")
        def never_called(event: events.Event) -> None:
            raise AssertionError("subscribed to an undeclared event")

    # Then nothing was registered under that name either
    assert ("ticket.craeted", "before") not in events._subscribers


def test_an_undeclared_name_is_refused_when_announcing(tenant_a):
    ran: list[str] = []
    with pytest.raises(events.UndeclaredEvent):
        events.after(events.event("ticket.exploded", tenant_a.org))
    with pytest.raises(events.UndeclaredEvent):
        events.before(events.Event("ticket.exploded", tenant_a.org.id, None))
    with pytest.raises(events.UndeclaredEvent), events.announce("ticket.exploded", tenant_a.org):
        ran.append("write")
    assert ran == []  # the write never ran


def test_an_event_carries_the_instance_its_declaration_names(tenant_a):
    # A ticket event about an organization is a programming error
    with pytest.raises(TypeError, match=r"ticket\.created: instance must be tickets\.Ticket"):
        events.event(events.TICKET_CREATED, tenant_a.org, tenant_a.agent, tenant_a.org)
    with pytest.raises(TypeError, match=r"trash\.purged carries no instance"):
        events.event(events.TRASH_PURGED, tenant_a.org, None, tenant_a.org)
    # The constant and the name are the same event
    made = events.event("organization.updated", tenant_a.org, None, tenant_a.org)
    assert made.name == events.ORGANIZATION_UPDATED.name == "organization.updated"


def test_a_name_is_declared_once():
    with pytest.raises(ValueError, match="already declared"):
        events.declare("ticket.created", when="ticket_create", instance="tickets.Ticket")
    assert events.declared()["ticket.created"] is events.TICKET_CREATED


def test_every_declared_event_is_announced_by_the_services_it_names():
    constants = {
        attr: value for attr, value in vars(events).items() if isinstance(value, events.Declaration)
    }
    assert {d.name for d in constants.values()} == set(events.declared())
    code = {path: path.read_text() for path in SOURCES if path != REGISTRY}
    announced = {
        attr for text in code.values() for attr in re.findall(r"announce\(\s*events\.(\w+)", text)
    }
    assert announced == set(constants), "declared but never announced, or announced by name"
    defined = {name for text in code.values() for name in re.findall(r"^def (\w+)\(", text, re.M)}
    for declaration in events.declared().values():
        for service in declaration.when.split(", "):
            assert service in defined, f"{declaration.name}: no service {service}"


def test_no_write_announces_by_hand():
    # One shape for a write: events.announce, never a before/after pair written out
    by_hand = [
        f"{path.relative_to(ROOT)}: {match}"
        for path in SOURCES
        if path != REGISTRY
        for match in re.findall(r"events\.(?:before|after)\(", path.read_text())
    ]
    assert by_hand == []


# ------------------------------------------------------------------ docs/events.md
ROW = re.compile(r"^\| `([a-z_]+\.[a-z_]+)` \| (.+?) \| (.+?) \| (.+?) \|$", re.M)


def test_docs_describe_exactly_the_declared_events():
    rows = {m[1]: m.groups()[1:] for m in ROW.finditer((ROOT / "docs" / "events.md").read_text())}
    declared = events.declared()
    assert sorted(set(declared) - set(rows)) == [], "declared but not in docs/events.md"
    assert sorted(set(rows) - set(declared)) == [], "in docs/events.md but not declared"
    for name, (when, instance, changes) in rows.items():
        declaration = declared[name]
        for service in declaration.when.split(", "):
            assert f"`{service}`" in when, f"{name}: docs do not name {service}"
        if declaration.instance is None:
            assert instance == "none", name
        else:
            assert instance.startswith(f"`{declaration.instance}`"), name
        assert (changes == "—") == (declaration.changes == ""), name


# ------------------------------------------------------------------ announce
def test_announce_runs_before_then_after_then_commit(
    tenant_a, subscribed, django_capture_on_commit_callbacks
):
    org = tenant_a.org
    calls: list[tuple[str, dict]] = []
    for phase in events.PHASES:
        subscribed(
            events.ORGANIZATION_UPDATED,
            phase,
            lambda event, phase=phase: calls.append((phase, event.changes)),
        )
    # When a write is announced, and the block fills in what it learned while writing
    with (
        django_capture_on_commit_callbacks(execute=True),
        events.announce(
            events.ORGANIZATION_UPDATED, org, tenant_a.admin, org, name=("Acme", "Acme Inc")
        ) as announcement,
    ):
        calls.append(("write", {}))
        announcement.changes["timezone"] = ("UTC", "Europe/Paris")
    # Then before ran first with the announced changes, after and commit saw the rest
    announced = {"name": ("Acme", "Acme Inc")}
    filled = {**announced, "timezone": ("UTC", "Europe/Paris")}
    assert calls == [("before", announced), ("write", {}), ("after", filled), ("commit", filled)]


def test_announce_calls_nothing_after_a_failed_write(
    tenant_a, subscribed, django_capture_on_commit_callbacks
):
    org = tenant_a.org
    calls: list[str] = []
    for phase in events.PHASES:
        subscribed(events.ORGANIZATION_UPDATED, phase, lambda event, p=phase: calls.append(p))

    def failing_write() -> None:
        with events.announce(events.ORGANIZATION_UPDATED, org, None, org):
            calls.append("write")
            raise RuntimeError("disk full")

    with (
        django_capture_on_commit_callbacks(execute=True) as scheduled,
        pytest.raises(RuntimeError, match="disk full"),
    ):
        failing_write()
    assert calls == ["before", "write"]
    assert scheduled == []


def test_a_veto_stops_the_write_before_it_starts(tenant_a, subscribed):
    org = tenant_a.org
    calls: list[str] = []

    def veto(event: events.Event) -> None:
        raise Vetoed("not today", field="name")

    subscribed(events.ORGANIZATION_UPDATED, "before", veto)
    subscribed(events.ORGANIZATION_UPDATED, "after", lambda event: calls.append("after"))
    with (
        pytest.raises(Vetoed, match="not today"),
        events.announce(events.ORGANIZATION_UPDATED, org, None, org),
    ):
        calls.append("write")
    assert calls == []


# ------------------------------------------------------------------ vetoes reach every write
def _resolved_ticket(world: Any) -> Ticket:
    ticket = open_ticket(world)
    services.ticket_change_status(
        organization=world.org, actor=world.agent, ticket=ticket, status="resolved"
    )
    return ticket


def _csat(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    ticket = _resolved_ticket(world)
    act = lambda: services.csat_record(  # noqa: E731
        organization=world.org, actor=world.customer, ticket=ticket, rating=5
    )
    untouched = lambda: (  # noqa: E731
        not CsatResponse.objects.filter(ticket_id=ticket.id).exists()
        and Ticket.objects.get(pk=ticket.pk).satisfaction is None
    )
    return act, untouched


def _purge(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    ticket = open_ticket(world)
    services.ticket_soft_delete(organization=world.org, actor=world.agent, ticket=ticket)
    later = timezone.now() + timedelta(days=settings.TRASH_RETENTION_DAYS + 1)
    act = lambda: services.purge_trash(organization=world.org, actor=world.admin, now=later)  # noqa: E731
    return act, lambda: Ticket.all_objects.filter(pk=ticket.pk).exists()


def _comment_restore(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    ticket = open_ticket(world)
    comment = services.comment_add(
        organization=world.org, actor=world.agent, ticket=ticket, body="Try turning it off"
    )
    services.comment_soft_delete(organization=world.org, actor=world.agent, comment=comment)
    act = lambda: services.comment_restore(  # noqa: E731
        organization=world.org, actor=world.agent, comment=comment
    )
    return act, lambda: TicketComment.all_objects.get(pk=comment.pk).deleted_at is not None


def _token_create(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    act = lambda: tokens.token_create(organization=world.org, actor=world.agent, name="ci")  # noqa: E731
    return act, lambda: not ApiToken.objects.filter(user=world.agent).exists()


def _token_revoke(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    token, _ = tokens.token_create(organization=world.org, actor=world.agent, name="ci")
    act = lambda: tokens.token_revoke(  # noqa: E731
        organization=world.org, actor=world.agent, token_id=token.id
    )
    return act, lambda: ApiToken.objects.get(pk=token.pk).revoked_at is None


def _user_create(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    act = lambda: people.user_create(  # noqa: E731
        organization=world.org, actor=world.admin, email="new@acme.test", role="agent"
    )
    return act, lambda: not User.all_objects.filter(email="new@acme.test").exists()


def _user_update(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    act = lambda: people.user_update(  # noqa: E731
        organization=world.org, actor=world.admin, user=world.agent, full_name="Renamed"
    )
    return act, lambda: User.objects.get(pk=world.agent.pk).full_name == world.agent.full_name


def _user_soft_delete(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    act = lambda: people.user_soft_delete(  # noqa: E731
        organization=world.org, actor=world.admin, user=world.agent
    )
    live = lambda: User.objects.filter(pk=world.agent.pk, is_active=True).exists()  # noqa: E731
    return act, live


def _user_restore(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    people.user_soft_delete(organization=world.org, actor=world.admin, user=world.agent)
    act = lambda: people.user_restore(  # noqa: E731
        organization=world.org, actor=world.admin, user=world.agent
    )
    gone = lambda: not User.objects.filter(pk=world.agent.pk).exists()  # noqa: E731
    return act, gone


# The writes that announced only `after` until every write went through `announce`.
FORMERLY_AFTER_ONLY = [
    (events.CSAT_RECORDED, _csat),
    (events.TRASH_PURGED, _purge),
    (events.COMMENT_RESTORED, _comment_restore),
    (events.TOKEN_CREATED, _token_create),
    (events.TOKEN_REVOKED, _token_revoke),
    (events.USER_CREATED, _user_create),
    (events.USER_UPDATED, _user_update),
    (events.USER_SOFT_DELETED, _user_soft_delete),
    (events.USER_RESTORED, _user_restore),
]


@pytest.mark.parametrize(
    ("declaration", "given"), FORMERLY_AFTER_ONLY, ids=[d.name for d, _ in FORMERLY_AFTER_ONLY]
)
def test_a_before_subscriber_can_refuse_the_write(
    tenant_a, app_role, subscribed, declaration, given
):
    # Given the state the write needs, and a subscriber that refuses it
    act, untouched = given(tenant_a)
    refused: list[events.Event] = []
    announced_after: list[events.Event] = []

    def refuse(event: events.Event) -> None:
        refused.append(event)
        raise Vetoed("refused by policy")

    subscribed(declaration, "before", refuse)
    subscribed(declaration, "after", announced_after.append)
    # When the write is attempted
    with pytest.raises(Vetoed, match="refused by policy"):
        act()
    # Then the subscriber was asked, with the declared payload, and nothing was written
    assert [event.name for event in refused] == [declaration.name]
    model = declaration.model
    assert refused[0].instance is None if model is None else isinstance(refused[0].instance, model)
    assert refused[0].organization_id == tenant_a.org.id
    assert announced_after == []
    with tenant(tenant_a.org):
        assert untouched()
