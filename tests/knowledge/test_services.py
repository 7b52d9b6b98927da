"""Writing the knowledge base: revisions, publishing, review, translations, restores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from deskbase.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.knowledge import selectors, services
from deskbase.knowledge.models import Article, ReviewState, Revision, Translation
from tests.knowledge.factories import article, section


def save(world, translation, **fields):
    return services.translation_save(
        organization=world.org, actor=world.agent, article_id=translation.article_id,
        language=translation.language, **fields,
    )  # fmt: skip


def test_every_save_is_a_revision_and_readers_keep_the_published_one(tenant_a):
    # Given a published article
    place = section(tenant_a)
    published = article(tenant_a, place, title="Printer offline", body="Turn it **on**.")
    # When an agent edits its draft twice
    save(tenant_a, published, body="Turn it on, then wait.")
    draft = save(tenant_a, published, title="Printer shows offline")
    # Then there are three revisions, each with its author
    rows = list(Revision.objects.filter(translation=draft).order_by("number"))
    assert [r.number for r in rows] == [1, 2, 3]
    assert {r.author_id for r in rows} == {tenant_a.agent.pk}
    assert rows[0].body_html == "<p>Turn it <strong>on</strong>.</p>\n"
    # And readers still read revision 1, the published one
    read = selectors.readable_article(selectors.Reader(tenant_a.org.pk), draft.article_id)
    assert read.revision.number == 1
    assert read.revision.title == "Printer offline"
    # And the diff of revision 3 against 2 shows the new title
    diff = selectors.revision_diff(
        user=tenant_a.agent, article_id=draft.article_id, language="en", number=3
    )
    assert "-# Printer offline" in diff
    assert "+# Printer shows offline" in diff


def test_a_save_that_changes_nothing_adds_no_revision(tenant_a):
    place = section(tenant_a)
    published = article(tenant_a, place, body="Same")
    save(tenant_a, published, body="Same")
    assert Revision.objects.filter(translation=published).count() == 1


def test_restoring_an_old_revision_appends_a_new_one(tenant_a):
    place = section(tenant_a)
    first = article(tenant_a, place, body="First text", publish=False)
    save(tenant_a, first, body="Second text")
    restored = services.revision_restore(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=first.article_id,
        language="en", number=1,
    )  # fmt: skip
    assert restored.body == "First text"
    latest = Revision.objects.filter(translation=first).order_by("-number").first()
    assert (latest.number, latest.body, latest.note) == (
        3,
        "First text",
        "restored from revision 1",
    )


def test_revisions_are_append_only_in_the_database(tenant_a):
    place = section(tenant_a)
    translation = article(tenant_a, place)
    with pytest.raises(IntegrityError), transaction.atomic():
        Revision.objects.filter(translation=translation).update(body="rewritten")


def test_a_published_revision_must_be_one_of_the_translations_own(tenant_a):
    # Given two articles
    place = section(tenant_a)
    one = article(tenant_a, place, title="One")
    other = article(tenant_a, place, title="Other")

    # When one is pointed at the other's revision behind the services' back
    def point_elsewhere() -> None:
        with transaction.atomic():
            Translation.objects.filter(pk=one.pk).update(
                published_revision_id=other.published_revision_id
            )
            connection.check_constraints()  # the key is deferred: check it now

    # Then the database refuses it
    with pytest.raises(IntegrityError, match="published_revision_id_same_org"):
        point_elsewhere()


def test_agents_send_for_review_and_only_managers_approve_and_publish(tenant_a):
    place = section(tenant_a)
    draft = article(tenant_a, place, publish=False)
    reviewed = services.translation_review(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=draft.article_id,
        language="en", state="in_review",
    )  # fmt: skip
    assert reviewed.review_state == ReviewState.IN_REVIEW
    with pytest.raises(PermissionDenied):
        services.translation_review(
            organization=tenant_a.org, actor=tenant_a.agent, article_id=draft.article_id,
            language="en", state="approved",
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.translation_publish(
            organization=tenant_a.org, actor=tenant_a.agent, article_id=draft.article_id,
            language="en",
        )  # fmt: skip
    approved = services.translation_review(
        organization=tenant_a.org, actor=tenant_a.manager, article_id=draft.article_id,
        language="en", state="approved",
    )  # fmt: skip
    assert approved.review_state == ReviewState.APPROVED
    # An approved draft goes back to draft, never straight back to review
    with pytest.raises(Conflict) as refused:
        services.translation_review(
            organization=tenant_a.org, actor=tenant_a.manager, article_id=draft.article_id,
            language="en", state="in_review",
        )  # fmt: skip
    assert refused.value.field == "state"
    # And an edit of an approved draft sends it back to draft
    edited = save(tenant_a, draft, body="Changed after approval")
    assert edited.review_state == ReviewState.DRAFT


def test_customers_cannot_write_and_another_tenant_cannot_reach(tenant_a, tenant_b):
    place = section(tenant_a)
    translation = article(tenant_a, place)
    with pytest.raises(PermissionDenied):
        services.article_create(
            organization=tenant_a.org, actor=tenant_a.customer, section_id=place.pk,
            title="x", body="y",
        )  # fmt: skip
    # Tenant B's staff naming A's article or section: absent
    with pytest.raises(NotFound):
        services.translation_save(
            organization=tenant_b.org, actor=tenant_b.agent, article_id=translation.article_id,
            language="en", body="hacked",
        )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        services.article_create(
            organization=tenant_b.org, actor=tenant_b.agent, section_id=place.pk, title="x",
            body="y",
        )  # fmt: skip
    assert refused.value.field == "section"
    assert Revision.objects.filter(translation=translation).count() == 1


def test_scheduled_publishing_is_done_by_the_worker_task(tenant_a):
    place = section(tenant_a)
    draft = article(tenant_a, place, publish=False)
    later = timezone.now() + timedelta(hours=2)
    scheduled = services.translation_publish(
        organization=tenant_a.org, actor=tenant_a.manager, article_id=draft.article_id,
        language="en", at=later,
    )  # fmt: skip
    assert scheduled.published_revision_id is None
    assert services.publish_due(now=timezone.now()) == 0
    assert services.publish_due(now=later + timedelta(seconds=1)) == 1
    assert services.publish_due(now=later + timedelta(seconds=2)) == 0  # idempotent
    done = Translation.objects.get(pk=draft.pk)
    assert done.published_revision_id is not None
    assert done.publish_at is None


def test_translations_each_have_their_state_and_the_reader_falls_back(tenant_a):
    place = section(tenant_a)
    english = article(tenant_a, place, title="Reset your password")
    german = services.translation_save(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=english.article_id,
        language="de", title="Passwort zurücksetzen", body="So geht es.",
    )  # fmt: skip
    assert german.slug == "passwort-zurucksetzen"
    reader = selectors.Reader(tenant_a.org.pk)
    # The German draft is unpublished: a German reader gets the English one, flagged
    read = selectors.readable_article(reader, english.article_id, language="de")
    assert (read.translation.language, read.fallback) == ("en", True)
    services.translation_publish(
        organization=tenant_a.org, actor=tenant_a.manager, article_id=english.article_id,
        language="de",
    )  # fmt: skip
    read = selectors.readable_article(reader, english.article_id, language="de")
    assert (read.translation.language, read.fallback) == ("de", False)
    assert read.languages == ["de", "en"]
    # A second German translation is refused by the database's unique rule
    with pytest.raises(IntegrityError), transaction.atomic(), tenant(tenant_a.org):
        Translation.objects.create(
            organization=tenant_a.org, article_id=english.article_id, language="de",
            title="Noch eins", slug="noch-eins", body="",
        )  # fmt: skip


def test_visibility_decides_who_reads(tenant_a, tenant_b):
    internal = article(tenant_a, section(tenant_a, visibility="internal", name="Runbooks"))
    customers = article(tenant_a, section(tenant_a, visibility="customers", name="Billing"))
    anonymous = selectors.Reader(tenant_a.org.pk)
    customer = selectors.reader_of(tenant_a.customer)
    agent = selectors.reader_of(tenant_a.agent)
    stranger = selectors.Reader(tenant_a.org.pk, tenant_b.customer)
    for reader, internal_ok, customers_ok in [
        (anonymous, False, False), (customer, False, True), (agent, True, True),
        (stranger, False, False),
    ]:  # fmt: skip
        for translation, allowed in [(internal, internal_ok), (customers, customers_ok)]:
            if allowed:
                assert selectors.readable_article(reader, translation.article_id)
            else:
                with pytest.raises(NotFound):
                    selectors.readable_article(reader, translation.article_id)
    # Another tenant's reader asking for A's article id in their own organization: absent
    with pytest.raises(NotFound):
        selectors.readable_article(selectors.reader_of(tenant_b.agent), customers.article_id)


def test_a_deleted_article_is_gone_for_readers_and_back_after_restore(tenant_a):
    place = section(tenant_a)
    translation = article(tenant_a, place)
    services.article_delete(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=translation.article_id
    )
    with pytest.raises(NotFound):
        selectors.readable_article(selectors.Reader(tenant_a.org.pk), translation.article_id)
    assert Article.all_objects.filter(pk=translation.article_id).exists()
    services.article_restore(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=translation.article_id
    )
    assert selectors.readable_article(selectors.Reader(tenant_a.org.pk), translation.article_id)


def test_bad_input_names_the_field(tenant_a):
    place = section(tenant_a)
    for fields, field in [
        ({"title": "  "}, "title"), ({"language": "english"}, "language"),
        ({"tags": ["x" * 51]}, "tags"), ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    ]:  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            article(tenant_a, place, publish=False, **fields)
        assert refused.value.field == field
    with pytest.raises(ValidationFailed) as refused:
        services.section_create(
            organization=tenant_a.org, actor=tenant_a.admin, category_id=place.category_id,
            name="Odd", visibility="everyone",
        )  # fmt: skip
    assert refused.value.field == "visibility"


def test_row_level_security_hides_another_tenants_rows(tenant_a, tenant_b, app_role):
    # Given an article of A, read as the application role with B as the tenant
    translation = article(tenant_a, section(tenant_a))
    with tenant(tenant_b.org):
        # Then no table of the knowledge base shows it
        assert not Translation.objects.filter(pk=translation.pk).exists()
        assert not Article.all_objects.filter(pk=translation.article_id).exists()
        assert not Revision.objects.filter(translation_id=translation.pk).exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM knowledge_match('offline'::tsquery, 'en')")
            assert cursor.fetchone()[0] == 0
    with tenant(tenant_a.org), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM knowledge_match('offlin'::tsquery, 'en')")
        assert cursor.fetchone()[0] == 1
