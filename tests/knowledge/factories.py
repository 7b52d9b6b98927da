"""Knowledge base content made the way staff make it: through the services."""

from __future__ import annotations

from typing import Any

from deskbase.knowledge import services
from deskbase.knowledge.models import Section, Translation


def section(world: Any, *, visibility: str = "public", name: str = "Printing") -> Section:
    category = services.category_create(
        organization=world.org, actor=world.admin, name=f"{name} help"
    )
    return services.section_create(
        organization=world.org, actor=world.admin, category_id=category.pk, name=name,
        visibility=visibility,
    )  # fmt: skip


def article(
    world: Any, place: Section, *, title: str = "Printer offline", body: str = "Turn it on.",
    publish: bool = True, **fields: Any,
) -> Translation:  # fmt: skip
    translation = services.article_create(
        organization=world.org, actor=world.agent, section_id=place.pk, title=title, body=body,
        **fields,
    )  # fmt: skip
    if publish:
        translation = services.translation_publish(
            organization=world.org, actor=world.manager, article_id=translation.article_id,
            language=translation.language,
        )  # fmt: skip
    return translation
