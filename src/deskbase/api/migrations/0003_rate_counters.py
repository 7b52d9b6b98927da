"""The API's rate-limit counters (deskbase.api.ratelimit).

UNLOGGED: a count is written on every API request, and losing the counts in a
crash costs nothing but a fresh minute, so no WAL is written for them (nor are they
on replicas, which never count). Not a tenant table under row-level security: the
limiter reads and writes it on a connection of its own, outside the request's
transaction; a key names the organization it counts for ("o:<id>", "c:<id>:...").
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("api", "0002_rules")]

    operations = [
        migrations.RunSQL(
            sql="""
                CREATE UNLOGGED TABLE api_ratecounter (
                    key text PRIMARY KEY CHECK (length(key) <= 200),
                    slot bigint NOT NULL,
                    hits integer NOT NULL CHECK (hits >= 0),
                    previous_hits integer NOT NULL CHECK (previous_hits >= 0)
                ) WITH (fillfactor = 50);
            """,
            reverse_sql="DROP TABLE IF EXISTS api_ratecounter;",
        ),
    ]
