"""The languages deskbase speaks, and the zone and language a person sees (docs/i18n.md)."""

from __future__ import annotations

import zoneinfo

from django.db import models


class Language(models.TextChoices):
    """Each language named in itself, so that a person finds their own in any of them."""

    ENGLISH = "en", "English"
    GERMAN = "de", "Deutsch"


# settings.LANGUAGES: what Accept-Language may choose, and the catalogs shipped.
LANGUAGES = [(value, str(label)) for value, label in Language.choices]


def zone_or_none(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone of an IANA name; None for a blank or unknown one."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
