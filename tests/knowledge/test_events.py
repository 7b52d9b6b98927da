"""Every write of the knowledge base announces its declared event, before and after."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from deskbase.core import events
from deskbase.core.errors import Vetoed
from deskbase.core.tenancy import tenant
from deskbase.knowledge import services
from deskbase.knowledge.models import (
    Article,
    ArticleAttachment,
    Category,
    Feedback,
    Section,
    Translation,
)
from tests.helpers import PNG
from tests.knowledge.factories import article, section

Given = Callable[[Any], tuple[Callable[[], Any], Callable[[], bool]]]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def subscribed() -> Iterator[Callable[..., None]]:
    made: list[tuple[Any, Any, str]] = []

    def subscribe(name: Any, phase: str, handler: Any) -> None:
        events.subscribe(name, phase)(handler)
        made.append((name, handler, phase))

    yield subscribe
    for name, handler, phase in made:
        events.unsubscribe(name, handler, phase)


def _category_create(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    act = lambda: services.category_create(  # noqa: E731
        organization=world.org, actor=world.admin, name="Billing"
    )
    return act, lambda: not Category.objects.filter(name="Billing").exists()


def _category_update(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    place = section(world)
    act = lambda: services.category_update(  # noqa: E731
        organization=world.org, actor=world.admin, category_id=place.category_id, name="Renamed"
    )
    return act, lambda: Category.objects.get(pk=place.category_id).name != "Renamed"


def _category_delete(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    made = services.category_create(organization=world.org, actor=world.admin, name="Empty")
    act = lambda: services.category_delete(  # noqa: E731
        organization=world.org, actor=world.admin, category_id=made.pk
    )
    return act, lambda: Category.objects.filter(pk=made.pk).exists()


def _section_create(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    made = services.category_create(organization=world.org, actor=world.admin, name="Billing")
    act = lambda: services.section_create(  # noqa: E731
        organization=world.org, actor=world.admin, category_id=made.pk, name="Invoices"
    )
    return act, lambda: not Section.objects.filter(name="Invoices").exists()


def _section_update(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    place = section(world)
    act = lambda: services.section_update(  # noqa: E731
        organization=world.org, actor=world.admin, section_id=place.pk, visibility="internal"
    )
    return act, lambda: Section.objects.get(pk=place.pk).visibility == "public"


def _section_delete(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    place = section(world)
    act = lambda: services.section_delete(  # noqa: E731
        organization=world.org, actor=world.admin, section_id=place.pk
    )
    return act, lambda: Section.objects.filter(pk=place.pk).exists()


def _article_update(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    made = article(world, section(world), publish=False)
    act = lambda: services.article_update(  # noqa: E731
        organization=world.org, actor=world.agent, article_id=made.article_id, tags=["paper"]
    )
    return act, lambda: Article.objects.get(pk=made.article_id).tags == []


def _article_restore(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    made = article(world, section(world), publish=False)
    services.article_delete(organization=world.org, actor=world.agent, article_id=made.article_id)
    act = lambda: services.article_restore(  # noqa: E731
        organization=world.org, actor=world.agent, article_id=made.article_id
    )
    return act, lambda: not Article.objects.filter(pk=made.article_id).exists()


def _translation_review(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    made = article(world, section(world), publish=False)
    act = lambda: services.translation_review(  # noqa: E731
        organization=world.org, actor=world.agent, article_id=made.article_id, language="en",
        state="in_review",
    )  # fmt: skip
    return act, lambda: Translation.objects.get(pk=made.pk).review_state == "draft"


def _feedback_record(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    made = article(world, section(world))
    act = lambda: services.feedback_record(  # noqa: E731
        organization=world.org, actor=None, visitor="a:abc123", article_id=made.article_id,
        language="en", helpful=True,
    )  # fmt: skip
    return act, lambda: not Feedback.objects.filter(article_id=made.article_id).exists()


def _attachment_add(world: Any) -> tuple[Callable[[], Any], Callable[[], bool]]:
    made = article(world, section(world), publish=False)
    act = lambda: services.article_attachment_add(  # noqa: E731
        organization=world.org, actor=world.agent, article_id=made.article_id,
        stream=io.BytesIO(PNG), file_name="panel.png",
    )  # fmt: skip
    return act, lambda: not ArticleAttachment.objects.exists()


WRITES: list[tuple[events.Declaration, Given]] = [
    (events.KB_CATEGORY_CREATED, _category_create),
    (events.KB_CATEGORY_UPDATED, _category_update),
    (events.KB_CATEGORY_SOFT_DELETED, _category_delete),
    (events.KB_SECTION_CREATED, _section_create),
    (events.KB_SECTION_UPDATED, _section_update),
    (events.KB_SECTION_SOFT_DELETED, _section_delete),
    (events.ARTICLE_UPDATED, _article_update),
    (events.ARTICLE_RESTORED, _article_restore),
    (events.ARTICLE_REVIEWED, _translation_review),
    (events.ARTICLE_RATED, _feedback_record),
    (events.ARTICLE_ATTACHMENT_ADDED, _attachment_add),
]
IDS = [declaration.name for declaration, _ in WRITES]


@pytest.mark.parametrize(("declaration", "given"), WRITES, ids=IDS)
def test_each_knowledge_write_announces_its_event(tenant_a, subscribed, declaration, given):
    # Given the state the write needs, and a subscriber after the write
    act, untouched = given(tenant_a)
    seen: list[events.Event] = []
    subscribed(declaration, "after", seen.append)
    # When the write is done
    act()
    # Then its event was announced once, with the declared instance, in this organization
    assert [event.name for event in seen] == [declaration.name]
    assert isinstance(seen[0].instance, declaration.model)
    assert seen[0].organization_id == tenant_a.org.id
    with tenant(tenant_a.org):
        assert not untouched()


@pytest.mark.parametrize(("declaration", "given"), WRITES, ids=IDS)
def test_a_before_subscriber_can_refuse_a_knowledge_write(tenant_a, subscribed, declaration, given):
    # Given the state the write needs, and a subscriber that refuses it
    act, untouched = given(tenant_a)

    def refuse(event: events.Event) -> None:
        raise Vetoed("refused by policy")

    subscribed(declaration, "before", refuse)
    # When the write is attempted, then it is refused and nothing is written
    with pytest.raises(Vetoed, match="refused by policy"):
        act()
    with tenant(tenant_a.org):
        assert untouched()


def test_an_update_that_changes_nothing_announces_nothing(tenant_a, subscribed):
    place = section(tenant_a)
    seen: list[events.Event] = []
    subscribed(events.KB_SECTION_UPDATED, "after", seen.append)
    services.section_update(
        organization=tenant_a.org, actor=tenant_a.admin, section_id=place.pk, name=place.name
    )
    assert seen == []


def test_an_update_carries_what_changed(tenant_a, subscribed):
    place = section(tenant_a)
    seen: list[events.Event] = []
    subscribed(events.KB_SECTION_UPDATED, "after", seen.append)
    services.section_update(
        organization=tenant_a.org, actor=tenant_a.admin, section_id=place.pk, visibility="internal"
    )
    assert seen[0].changes == {"visibility": ("public", "internal")}
