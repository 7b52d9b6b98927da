"""/manage/kb/: staff write the knowledge base; managers publish; other tenants get 404."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone

from deskbase.knowledge import services
from deskbase.knowledge.models import Article, Revision, Translation
from tests.knowledge.factories import article, section
from tests.web.helpers import assert_staff_only, queries_of, signed_in

pytestmark = pytest.mark.django_db


def test_only_staff_enter(tenant_a):
    assert_staff_only(tenant_a, "/manage/kb/")


def test_an_agent_writes_and_a_manager_publishes(tenant_a):
    agent = signed_in(tenant_a.agent)
    assert agent.post("/manage/kb/categories", {"name": "Printing"}).status_code == 302
    # A new category (no section yet) is offered to the section form
    (category,) = agent.get("/manage/kb/").context["categories"]
    assert (
        agent.post("/manage/kb/sections", {"category_id": category.pk, "name": "Setup"}).status_code
        == 302
    )
    place = category.sections.get()
    made = agent.post("/manage/kb/articles", {
        "section_id": place.pk, "title": "Printer offline", "body": "Turn it on.",
        "language": "en", "tags": "printer, network",
    })  # fmt: skip
    created = Article.objects.get()
    assert made["Location"] == f"/manage/kb/articles/{created.pk}/en/"
    assert created.tags == ["printer", "network"]
    page = agent.get(made["Location"])
    assert b"Send for review" in page.content
    assert b"Publish the latest revision" not in page.content
    saved = agent.post(made["Location"], {"title": "Printer offline", "body": "Turn it on now."})
    assert saved.status_code == 302
    assert Revision.objects.filter(translation__article=created).count() == 2
    refused = agent.post(f"/manage/kb/articles/{created.pk}/en/publish", {"at": ""})
    assert refused.status_code == 403
    manager = signed_in(tenant_a.manager)
    assert (
        manager.post(f"/manage/kb/articles/{created.pk}/en/publish", {"at": ""}).status_code == 302
    )
    assert Translation.objects.get().published_revision.number == 2
    diff = agent.get(f"/manage/kb/articles/{created.pk}/en/revisions/2/")
    assert b"+Turn it on now." in diff.content
    assert agent.post(f"/manage/kb/articles/{created.pk}/en/revisions/1/restore").status_code == 302
    assert Translation.objects.get().body == "Turn it on."


def test_bad_input_goes_back_with_the_field(tenant_a):
    place = section(tenant_a)
    agent = signed_in(tenant_a.agent)
    answer = agent.post(
        "/manage/kb/articles", {"section_id": place.pk, "title": " ", "language": "en"},
        follow=True,
    )  # fmt: skip
    assert b"title: The title cannot be empty." in answer.content
    assert not Article.objects.exists()


def test_another_tenants_article_is_not_found(tenant_a, tenant_b):
    translation = article(tenant_a, section(tenant_a))
    other = signed_in(tenant_b.manager)
    base = f"/manage/kb/articles/{translation.article_id}/en"
    assert other.get(f"{base}/").status_code == 404
    assert other.get(f"{base}/revisions/1/").status_code == 404
    assert other.post(f"{base}/unpublish").status_code == 404
    assert other.post(f"{base}/", {"title": "Hacked", "body": "x"}).status_code == 404
    assert Translation.objects.get(pk=translation.pk).published_revision_id is not None
    assert b"Printer offline" not in other.get("/manage/kb/").content


def test_the_list_runs_a_fixed_number_of_queries(tenant_a):
    place = section(tenant_a)
    article(tenant_a, place, title="Article 0")
    agent = signed_in(tenant_a.agent)
    agent.get("/manage/kb/")  # warm the caches
    one = queries_of(agent, "/manage/kb/")
    for index in range(1, 50):
        article(tenant_a, place, title=f"Article {index}", publish=index % 2 == 0)
    assert queries_of(agent, "/manage/kb/") == one


def test_analytics_are_for_managers_and_admins(tenant_a):
    article(tenant_a, section(tenant_a))
    page = signed_in(tenant_a.manager).get("/manage/kb/analytics")
    assert page.status_code == 200
    assert b"Deflection rate" in page.content
    assert signed_in(tenant_a.agent).get("/manage/kb/analytics").status_code == 403
    assert signed_in(tenant_a.customer).get("/manage/kb/analytics").status_code == 403


def test_the_analytics_page_carries_the_charts_data(tenant_a, tenant_b):
    """Given views, answers and a deflected new-ticket form in the first organization and
    a view in the second, when a manager opens the analytics for 7 days, then the page
    holds what its charts draw: views per day ending today, helpful and not helpful per
    article, the deflection funnel, of their own organization only."""
    read = article(tenant_a, section(tenant_a), title="Printer offline")
    other = article(tenant_b, section(tenant_b), title="Globex article")
    for visitor in ("u:1", "u:1", "u:2"):
        services.view_record(organization_id=tenant_a.org.pk, article_id=read.article_id,
                             language="en", visitor=visitor)  # fmt: skip
    services.view_record(organization_id=tenant_b.org.pk, article_id=other.article_id,
                         language="en", visitor="u:9")  # fmt: skip
    for visitor, helpful, reason in (("u:1", True, ""), ("u:2", False, "outdated")):
        services.feedback_record(
            organization=tenant_a.org, actor=None, visitor=visitor, article_id=read.article_id,
            language="en", helpful=helpful, reason=reason,
        )  # fmt: skip
    for event in ("shown", "solved"):
        services.deflection_record(
            organization=tenant_a.org, actor=tenant_a.customer, attempt="a" * 32, event=event,
            article_ids=[read.article_id] if event == "shown" else (),
        )  # fmt: skip

    page = signed_in(tenant_a.manager).get("/manage/kb/analytics?days=7")

    assert page.status_code == 200
    content = page.content.decode()
    found = re.search(r'<script id="kb-analytics-data"[^>]*>(.*?)</script>', content, re.S)
    assert found is not None
    data = json.loads(found.group(1))
    views = data["views"]
    assert len(views["labels"]) == len(views["views"]) == 7
    assert views["labels"][-1] == timezone.now().date().isoformat()
    assert views["views"] == [0] * 6 + [3]
    assert views["visitors"] == [0] * 6 + [2]
    assert data["helpful"] == {"labels": ["Printer offline"], "helpful": [1], "not_helpful": [1]}
    assert data["deflection"]["counts"] == [1, 0, 1, 0]
    for canvas in ("chart-kb-views", "chart-kb-helpful", "chart-kb-deflection"):
        assert f'<canvas id="{canvas}"' in content
    assert re.search(r'<script src="/static/web/vendor/chart\.umd\.min(\.\w+)?\.js"', content)
    assert re.search(r'<script src="/static/web/kb_analytics(\.\w+)?\.js"', content)
    assert "Globex" not in content
