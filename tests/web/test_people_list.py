"""/manage/people/: a list with search and pages, one link per person; removing is on the
person's own page."""

from __future__ import annotations

import pytest

from deskbase.accounts.services import user_create
from tests.web.helpers import queries_of, signed_in

pytestmark = pytest.mark.django_db


def _customers(world, count: int, name: str = "Customer") -> None:
    for n in range(count):
        user_create(organization=world.org, actor=world.admin, email=f"{name.lower()}{n}@x.test",
                    role="customer", full_name=f"{name} {n}")  # fmt: skip


def test_search_finds_people_by_name_or_email_of_the_own_organization_only(tenant_a, tenant_b):
    user_create(organization=tenant_a.org, actor=tenant_a.admin, email="zoe@example.test",
                full_name="Zoe Quartz")  # fmt: skip
    user_create(organization=tenant_b.org, actor=tenant_b.admin, email="zoe@globex.test",
                full_name="Zoe Globex")  # fmt: skip
    client = signed_in(tenant_a.admin)
    by_name = client.get("/manage/people/?q=quartz").content.decode()
    assert "zoe@example.test" in by_name
    assert "agent@acme.test" not in by_name
    assert "globex" not in by_name.lower()
    by_mail = client.get("/manage/people/?q=ZOE@EXAMPLE").content.decode()
    assert "Zoe Quartz" in by_mail
    assert "Nobody matches" in client.get("/manage/people/?q=nobody-here").content.decode()


def test_the_list_has_no_remove_buttons_and_the_person_page_has_one(tenant_a):
    client = signed_in(tenant_a.admin)
    listing = client.get("/manage/people/").content.decode()
    assert "/remove" not in listing
    assert f'href="/manage/people/{tenant_a.agent.id}/"' in listing
    person = client.get(f"/manage/people/{tenant_a.agent.id}/").content.decode()
    assert f"/manage/people/{tenant_a.agent.id}/remove" in person
    own = client.get(f"/manage/people/{tenant_a.admin.id}/").content.decode()
    assert f"/manage/people/{tenant_a.admin.id}/remove" not in own


def test_pages_keep_the_search(tenant_a, monkeypatch):
    from deskbase.web.views.manage import people

    monkeypatch.setattr(people, "PEOPLE_PAGE", 3)
    _customers(tenant_a, 5, "Walker")
    client = signed_in(tenant_a.admin)
    first = client.get("/manage/people/?q=walker").content.decode()
    assert first.count("@x.test</td>") == 3
    assert "q=walker&amp;after=" in first
    after = first.split("q=walker&amp;after=", 1)[1].split('"', 1)[0]
    second = client.get(f"/manage/people/?q=walker&after={after}").content.decode()
    assert second.count("@x.test</td>") == 2
    assert "First page" in second


def test_a_search_costs_the_same_queries_for_one_match_and_fifty(tenant_a):
    client = signed_in(tenant_a.admin)
    _customers(tenant_a, 1, "Match")
    client.get("/manage/people/?q=match")
    one = queries_of(client, "/manage/people/?q=match")
    _customers(tenant_a, 49, "Matchmore")
    assert queries_of(client, "/manage/people/?q=match") == one
