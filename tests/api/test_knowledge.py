"""/api/v1/kb: staff write, readers read what their visibility allows, other tenants get 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.core.tenancy import tenant
from deskbase.knowledge import services
from deskbase.knowledge.models import Revision, Translation
from tests.api.helpers import ApiClient
from tests.knowledge.factories import article, section

pytestmark = pytest.mark.django_db


def test_staff_write_a_draft_and_a_manager_publishes_it(tenant_a, app_role):
    agent, manager = ApiClient(tenant_a.agent), ApiClient(tenant_a.manager)
    category = agent.post("/kb/categories", {"name": "Printing"})
    assert category.status_code == 201, category.content
    made = agent.post(
        "/kb/sections", {"category_id": category.json()["id"], "name": "Setup"}
    ).json()
    created = agent.post(
        "/kb/articles",
        {"section_id": made["id"], "title": "Printer offline", "body": "Turn it **on**.",
         "tags": ["Printer", "printer", "network"]},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["tags"] == ["printer", "network"]
    assert body["translations"][0]["published"] is False
    article_id = body["id"]
    # A draft is not readable yet
    assert ApiClient(tenant_a.customer).get(f"/kb/articles/{article_id}").status_code == 404
    # An agent may not publish; a manager may
    refused = agent.post(f"/kb/articles/{article_id}/translations/en/publish", {})
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    published = manager.post(f"/kb/articles/{article_id}/translations/en/publish", {})
    assert published.status_code == 200, published.content
    assert published.json()["published_revision"] == 1
    read = ApiClient(tenant_a.customer).get(f"/kb/articles/{article_id}")
    assert read.status_code == 200
    assert read.json()["body_html"] == "<p>Turn it <strong>on</strong>.</p>\n"
    assert read.json()["slug"] == "printer-offline"


def test_editing_keeps_the_published_text_and_keeps_every_revision(tenant_a, app_role):
    translation = article(tenant_a, section(tenant_a), body="Old text")
    agent = ApiClient(tenant_a.agent)
    path = f"/kb/articles/{translation.article_id}/translations/en"
    saved = agent.patch(path, {"body": "New text", "note": "clearer"})
    assert saved.status_code == 200, saved.content
    assert saved.json()["body"] == "New text"
    assert saved.json()["published_revision"] == 1
    assert (
        ApiClient(tenant_a.customer)
        .get(f"/kb/articles/{translation.article_id}")
        .json()["body_html"]
        == "<p>Old text</p>\n"
    )
    revisions = agent.get(f"{path}/revisions").json()
    assert [(r["number"], r["note"]) for r in revisions] == [(2, "clearer"), (1, "")]
    diff = agent.get(f"{path}/revisions/2").json()["diff"]
    assert "-Old text" in diff
    assert "+New text" in diff
    restored = agent.post(f"{path}/revisions/1/restore")
    assert restored.json()["body"] == "Old text"
    with tenant(tenant_a.org):
        assert Revision.objects.filter(translation_id=translation.pk).count() == 3


def test_visibility_and_tenants(tenant_a, tenant_b, app_role):
    internal = article(tenant_a, section(tenant_a, visibility="internal", name="Runbooks"))
    public = article(tenant_a, section(tenant_a, name="Basics"))
    customer = ApiClient(tenant_a.customer)
    assert customer.get(f"/kb/articles/{internal.article_id}").status_code == 404
    assert customer.get(f"/kb/articles/{public.article_id}").status_code == 200
    assert ApiClient(tenant_a.agent).get(f"/kb/articles/{internal.article_id}").status_code == 200
    # The customer's tree has no internal section
    names = [s["name"] for c in customer.get("/kb/categories").json() for s in c["sections"]]
    assert names == ["Basics"]
    # Tenant B's staff: A's article is as absent as one that exists nowhere
    other = ApiClient(tenant_b.admin)
    for path in (f"/kb/articles/{public.article_id}",
                 f"/kb/articles/{public.article_id}/translations/en"):  # fmt: skip
        answer = other.get(path)
        assert answer.status_code == 404
        assert answer["Content-Type"] == "application/problem+json"
    assert (
        other.patch(f"/kb/articles/{public.article_id}/translations/en", {"body": "x"}).status_code
        == 404
    )
    assert other.get("/kb/search", q="offline").json()["items"] == []
    with tenant(tenant_a.org):
        assert Translation.objects.get(pk=public.pk).body == "Turn it on."


def test_bad_input_is_a_problem_naming_the_field(tenant_a, tenant_b, app_role):
    place = section(tenant_a)
    agent = ApiClient(tenant_a.agent)
    for body, field in [
        ({"section_id": place.pk, "title": "x", "language": "english"}, "language"),
        ({"section_id": place.pk, "title": "x", "tags": ["y" * 51]}, "tags"),
        ({"section_id": section(tenant_b).pk, "title": "x"}, "section"),
        ({"section_id": place.pk, "title": "x", "author_id": 1}, "author_id"),
    ]:
        answer = agent.post("/kb/articles", body)
        assert answer.status_code == 422, (body, answer.content)
        assert answer["Content-Type"] == "application/problem+json"
        assert field in {e["field"] for e in answer.json()["errors"]}, answer.json()
    unhelpful = ApiClient(tenant_a.customer).post(
        f"/kb/articles/{article(tenant_a, place).article_id}/feedback", {"helpful": False}
    )
    assert unhelpful.status_code == 422
    assert unhelpful.json()["errors"][0]["field"] == "reason"


def test_feedback_counts_once_per_person(tenant_a, app_role):
    translation = article(tenant_a, section(tenant_a))
    customer = ApiClient(tenant_a.customer)
    path = f"/kb/articles/{translation.article_id}/feedback"
    assert customer.post(path, {"helpful": True}).status_code == 200
    again = customer.post(path, {"helpful": False, "reason": "outdated"})
    assert again.status_code == 200
    assert again.json()["reason"] == "outdated"
    with tenant(tenant_a.org), connection.cursor() as cursor:
        cursor.execute("SELECT count(*), bool_or(helpful) FROM knowledge_feedback")
        assert cursor.fetchone() == (1, False)


def test_search_ranks_title_over_body_and_suggests_on_a_typo(tenant_a, app_role):
    place = section(tenant_a)
    article(tenant_a, place, title="Reset your password", body="Use the link.")
    article(tenant_a, place, title="Billing", body="To change the password of billing…")
    customer = ApiClient(tenant_a.customer)
    found = customer.get("/kb/search", q="password").json()
    assert [i["title"] for i in found["items"]] == ["Reset your password", "Billing"]
    assert "<mark>password</mark>" in found["items"][1]["snippet"]
    typo = customer.get("/kb/search", q="pasword").json()
    assert typo["items"] == []
    assert [s["title"] for s in typo["suggestions"]] == ["Reset your password"]
    with tenant(tenant_a.org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT query, result_count FROM search_searchlog WHERE types = 'articles' ORDER BY id"
        )
        assert cursor.fetchall() == [("password", 2), ("pasword", 0)]


def _queries(client: ApiClient, path: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(path)
    assert answer.status_code == 200, answer.content
    return answer, len(queries)


def test_the_lists_and_the_article_run_a_fixed_number_of_queries(tenant_a, app_role):
    place = section(tenant_a)
    first = article(tenant_a, place, title="Article 0")
    staff, customer = ApiClient(tenant_a.agent), ApiClient(tenant_a.customer)
    for client in (staff, customer):  # the first call of a token warms caches
        client.get("/kb/categories")
    one_list = _queries(staff, "/kb/articles")
    one_section = _queries(customer, f"/kb/sections/{place.pk}/articles")
    one_article = _queries(customer, f"/kb/articles/{first.article_id}")
    for index in range(1, 50):
        made = article(tenant_a, place, title=f"Article {index}")
        if index % 2:
            services.translation_save(
                organization=tenant_a.org, actor=tenant_a.agent, article_id=made.article_id,
                language="de", title=f"Artikel {index}", body="Text",
            )  # fmt: skip
    many_list = _queries(staff, "/kb/articles")
    many_section = _queries(customer, f"/kb/sections/{place.pk}/articles")
    assert len(many_list[0].json()["items"]) == 50
    assert len(many_section[0].json()["items"]) == 50
    assert many_list[1] == one_list[1]
    assert many_section[1] == one_section[1]
    assert _queries(customer, f"/kb/articles/{made.article_id}?lang=de")[1] == one_article[1]
