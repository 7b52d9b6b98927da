"""Knowledge base analytics: views, helpful ratio, searches without results, deflection, stale."""

from __future__ import annotations

import pytest
from django.db import connection

from deskbase.core.errors import PermissionDenied
from deskbase.knowledge import analytics, selectors, services
from tests.knowledge.factories import article, section


def test_the_report_counts_each_figure_of_its_own_tenant_only(tenant_a, tenant_b):
    place = section(tenant_a)
    read = article(tenant_a, place, title="Printer offline")
    stale = article(tenant_a, place, title="Old fax setup")
    other = article(tenant_b, section(tenant_b), title="Globex article")
    for visitor in ("a:1" * 8, "a:1" * 8, "u:7"):
        services.view_record(organization_id=tenant_a.org.pk, article_id=read.article_id,
                             language="en", visitor=visitor)  # fmt: skip
    services.view_record(organization_id=tenant_b.org.pk, article_id=other.article_id,
                         language="en", visitor="u:9")  # fmt: skip
    for visitor, helpful, reason in (("u:1", True, ""), ("u:2", False, "outdated")):
        services.feedback_record(
            organization=tenant_a.org, actor=None, visitor=visitor, article_id=read.article_id,
            language="en", helpful=helpful, reason=reason,
        )  # fmt: skip
    reader = selectors.Reader(tenant_a.org.pk)
    selectors.search(reader, "invoice")  # nothing: logged with 0 results
    selectors.search(selectors.Reader(tenant_b.org.pk), "globex nothing")
    for attempt, solved in (("a" * 32, True), ("b" * 32, False)):
        services.deflection_record(organization=tenant_a.org, actor=tenant_a.customer,
                                   attempt=attempt, event="shown",
                                   article_ids=[read.article_id])  # fmt: skip
        if solved:
            services.deflection_record(organization=tenant_a.org, actor=tenant_a.customer,
                                       attempt=attempt, event="solved")  # fmt: skip
    with connection.cursor() as cursor:  # as the owner: age one translation by a year
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
        cursor.execute("ALTER TABLE knowledge_translation DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE knowledge_translation SET updated_at = now() - interval '1 year'"
            " WHERE id = %s", [stale.pk],
        )  # fmt: skip
        cursor.execute("ALTER TABLE knowledge_translation ENABLE TRIGGER USER")

    report = analytics.report(user=tenant_a.manager, days=30, stale_months=6)

    assert (report.views, report.visitors) == (3, 2)
    assert len(report.views_by_day) == 30
    assert [(d["views"], d["visitors"]) for d in report.views_by_day] == [(0, 0)] * 29 + [(3, 2)]
    assert [(r["title"], r["views"]) for r in report.top_viewed] == [("Printer offline", 3)]
    assert [(r["helpful"], r["not_helpful"], r["ratio"]) for r in report.least_helpful] == [
        (1, 1, 0.5)
    ]
    assert [r["query"] for r in report.zero_result_searches] == ["invoice"]
    assert report.deflection == {
        "shown": 2, "clicked": 0, "solved": 1, "sent_anyway": 0, "rate": 0.5,
    }  # fmt: skip
    assert [r["title"] for r in report.stale] == ["Old fax setup"]


def test_agents_and_customers_may_not_read_it(tenant_a):
    for person in (tenant_a.agent, tenant_a.customer):
        with pytest.raises(PermissionDenied):
            analytics.report(user=person)
