"""People see and end their sessions; admins end anyone's; timeouts per organization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from deskbase import cached
from deskbase.accounts import audit
from deskbase.accounts.models import AuditLog, UserSession
from deskbase.accounts.services import user_update
from deskbase.core.tenancy import tenant
from tests.accounts.test_two_factor import forget_tenant, get, password_step, post

pytestmark = pytest.mark.django_db


def browser(email: str = "agent@acme.test", organization: str = "acme", agent: str = "") -> Client:
    client = Client(HTTP_USER_AGENT=agent or f"Browser of {email}", REMOTE_ADDR="10.1.2.3")
    assert password_step(client, organization, email).status_code == 302
    return client


def signed_in(client: Client) -> bool:
    return get(client, "/account/security/").status_code == 200


def open_rows(world, person) -> list[UserSession]:
    with tenant(world.org):
        return list(UserSession.objects.filter(user_id=person.id, ended_at__isnull=True))


def set_rules(world, **rules) -> None:
    with tenant(world.org):
        for field, value in rules.items():
            setattr(world.org, field, value)
        world.org.save(update_fields=list(rules))
    cached.invalidate_all(world.org.id)
    forget_tenant()


def test_people_see_their_own_sessions_and_nobody_elses(tenant_a, tenant_b, app_role):
    laptop = browser(agent="Laptop Firefox")
    browser(agent="Phone Safari")
    browser("admin@acme.test", agent="Admin Chrome")
    browser("agent@globex.test", "globex", agent="Globex Edge")
    page = get(laptop, "/account/security/").content.decode()
    assert "Laptop Firefox" in page
    assert "Phone Safari" in page
    assert "10.1.2.3" in page
    assert "Admin Chrome" not in page
    assert "Globex Edge" not in page


def test_ending_a_session_signs_that_browser_out(tenant_a, app_role):
    laptop = browser()
    phone = browser()
    phone_row = max(open_rows(tenant_a, tenant_a.agent), key=lambda r: r.id)
    response = post(laptop, "/account/security/end-session", {"session": phone_row.id})
    assert response.status_code == 302
    assert not signed_in(phone)
    assert signed_in(laptop)
    with tenant(tenant_a.org):
        assert AuditLog.objects.filter(action="session_ended").count() == 1


def test_another_persons_session_answers_like_a_missing_one(tenant_a, tenant_b, app_role):
    admin = browser("admin@acme.test")
    admin_row = open_rows(tenant_a, tenant_a.admin)[0]
    agent = browser()
    response = post(agent, "/account/security/end-session", {"session": admin_row.id})
    assert response.status_code == 404
    foreign = browser("admin@globex.test", "globex")
    assert (
        post(foreign, "/account/security/end-session", {"session": admin_row.id}).status_code == 404
    )
    assert signed_in(admin)


def test_admins_end_every_session_of_a_person(tenant_a, tenant_b, app_role):
    first, second = browser(), browser()
    admin = browser("admin@acme.test")
    foreign = browser("admin@globex.test", "globex")
    assert post(foreign, f"/manage/people/{tenant_a.agent.id}/end-sessions", {}).status_code == 404
    assert signed_in(first)
    response = post(admin, f"/manage/people/{tenant_a.agent.id}/end-sessions", {})
    assert response.status_code == 302
    assert not signed_in(first)
    assert not signed_in(second)
    assert open_rows(tenant_a, tenant_a.agent) == []


def test_a_password_change_ends_every_other_session(tenant_a, app_role):
    here, elsewhere = browser(), browser()
    response = post(here, "/account/security/password", {
        "current_password": "pw-for-tests-1", "new_password": "a-much-longer-secret-42",
    })  # fmt: skip
    assert response.status_code == 302
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert len(open_rows(tenant_a, tenant_a.agent)) == 1
    # the old password is over; a wrong current password changes nothing
    refused = post(here, "/account/security/password", {
        "current_password": "pw-for-tests-1", "new_password": "yet-another-secret-99",
    })  # fmt: skip
    assert refused.status_code == 302
    assert "current password" in get(here, "/account/security/").content.decode()


def test_a_deactivation_ends_every_session_at_once(tenant_a, app_role):
    first, second = browser(), browser()
    user_update(organization=tenant_a.org, actor=tenant_a.admin, user=tenant_a.agent,
                is_active=False)  # fmt: skip
    forget_tenant()
    assert open_rows(tenant_a, tenant_a.agent) == []
    assert not signed_in(first)
    assert not signed_in(second)


def age(client: Client, *, started: timedelta = timedelta(0), seen: timedelta) -> None:
    session = client.session
    now = timezone.now()
    session[audit.SESSION_STARTED] = (now - started).isoformat()
    session[audit.SESSION_SEEN] = (now - seen).isoformat()
    session.save()


def test_an_idle_session_is_signed_out(tenant_a, tenant_b, app_role):
    set_rules(tenant_a, session_idle_minutes=30)
    client = browser()
    age(client, seen=timedelta(minutes=20))
    assert signed_in(client)
    age(client, seen=timedelta(minutes=31))
    assert not signed_in(client)
    # another organization without the rule keeps its idle session
    other = browser("agent@globex.test", "globex")
    age(other, seen=timedelta(hours=5))
    assert signed_in(other)


def test_a_session_ends_at_the_organizations_lifetime(tenant_a, app_role):
    set_rules(tenant_a, session_max_hours=8)
    client = browser()
    age(client, started=timedelta(hours=7), seen=timedelta(0))
    assert signed_in(client)
    age(client, started=timedelta(hours=9), seen=timedelta(0))
    assert not signed_in(client)
