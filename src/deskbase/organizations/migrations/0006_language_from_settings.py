"""One organization language: a value left in `settings["language"]` (where the
customer notifications' language used to be kept) moves into the field `language`,
unless the field already names one; the key is removed either way (docs/i18n.md)."""

from django.db import migrations

FORWARD = """
UPDATE organizations_organization
SET language = CASE
        WHEN language = '' AND settings->>'language' IN ('en', 'de') THEN settings->>'language'
        ELSE language
    END,
    settings = settings - 'language'
WHERE settings ? 'language'
"""

# Back: the customer notifications' language in the settings again.
BACKWARD = """
UPDATE organizations_organization
SET settings = settings || jsonb_build_object('language', language)
WHERE language <> ''
"""


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0005_preferences"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
