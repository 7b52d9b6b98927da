"""Search: text search configurations, vectors kept by triggers, suggestion sources.

Every vector is written by a trigger in the transaction of the write that changes
its text (services, raw SQL, merges, restores alike), so a row is findable the
moment it is committed. Soft-deleted rows keep their vectors; queries join on
`deleted_at IS NULL`, so a restore needs no re-index.

Where the vectors live:

- comments, canned responses, users, attachments and organizations: a
  `search_vector` column on the row, set by a BEFORE trigger (no second write);
- tickets: a side table `search_ticketdocument` (subject A, description B), kept
  by an AFTER trigger. Not a column of tickets_ticket because the history trigger
  records every changed column of that row (to_jsonb(NEW)): a column there would
  write a "search_vector" history row on every subject edit;
- comments are ranked with weight C in their own vector; a ticket's rank is the
  best of its own and its comments' ranks at query time, so adding a comment
  never rewrites (and locks) the ticket row other agents are editing.

GIN indexes lead with organization_id (btree_gin) like every tenant index: the
scan intersects the tenant's posting list with the lexemes', so a small tenant's
search does not read a big tenant's matches.
"""

from django.db import migrations

from deskbase.core.migrations._frozen import enable_rls

CONFIGURATIONS = """
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- English stemming on unaccented words; `simple` (no stemming, no stop words) for the
-- organizations whose language has no better configuration.
CREATE TEXT SEARCH CONFIGURATION deskbase_english (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION deskbase_english
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION deskbase_simple (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION deskbase_simple
    ALTER MAPPING FOR hword, hword_part, word, asciiword, asciihword, hword_asciipart
    WITH unaccent, simple;

-- The organization's configuration: settings.search_language 'english' (the default)
-- or anything else, which falls back to 'simple'.
CREATE FUNCTION search_config(org bigint) RETURNS regconfig LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN coalesce(
        (SELECT settings ->> 'search_language' FROM organizations_organization WHERE id = org),
        'english') = 'english'
    THEN 'deskbase_english'::regconfig ELSE 'deskbase_simple'::regconfig END
$$;

-- The transaction's tenant, as the row-level security policies read it.
CREATE FUNCTION search_tenant() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('deskbase.org_id', true), '')::bigint
$$;

-- Words of an identifier-like text (file names, emails) as separate tokens, plus the whole.
CREATE FUNCTION search_split_words(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(value, '') || ' ' || regexp_replace(coalesce(value, ''), '[@._+-]+', ' ', 'g')
$$;

CREATE FUNCTION search_ticket_vector(cfg regconfig, subject text, description text)
RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
    SELECT setweight(to_tsvector(cfg, coalesce(subject, '')), 'A')
        || setweight(to_tsvector(cfg, coalesce(description, '')), 'B')
$$;
"""

ESTIMATE = """
-- The planner's estimates, for one tenant, of the tickets' documents and comments that
-- contain each lexeme (most_common_elems statistics; '' gives the tenant's totals). The
-- search picks its plan from them (docs/search.md). pg_stats hides the statistics of
-- tables under row-level security, EXPLAIN does not; one round trip for every lexeme.
CREATE FUNCTION search_estimates(org bigint, lexemes text[])
RETURNS TABLE (lexeme text, documents float8, comments float8)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
    item text;
    match text;
BEGIN
    FOREACH item IN ARRAY lexemes LOOP
        lexeme := item;
        match := CASE WHEN item = '' THEN '' ELSE ' @@ ' || quote_literal(item) || '::tsquery' END;
        BEGIN
            EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM search_ticketdocument'
                || ' WHERE organization_id = ' || org
                || CASE WHEN match = '' THEN '' ELSE ' AND document' || match END INTO plan;
            documents := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
            EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM tickets_ticketcomment'
                || ' WHERE organization_id = ' || org
                || CASE WHEN match = '' THEN '' ELSE ' AND search_vector' || match END INTO plan;
            comments := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
        EXCEPTION WHEN others THEN
            -- Not a lexeme PostgreSQL can read back: no bound (the caller assumes many).
            documents := NULL;
            comments := NULL;
        END;
        RETURN NEXT;
    END LOOP;
END $$;
"""

# Row-level security lets an index serve only leakproof operators before its policy has
# filtered the rows, and neither @@ nor ILIKE is leakproof: for the application role
# every search would read the tenant's whole table (measured: 0.5-1.3 s for a rare
# word at 1M tickets, against 0.6 ms with the GIN index). These functions run as the
# owner of the tables, whose policy admits every row (so the GIN and trigram indexes
# serve), and filter by the transaction's tenant themselves: the same setting the
# policies read. They return ids and ranks only; the rows are then read under RLS.
MATCHES = """
CREATE FUNCTION search_match_documents(query tsquery)
RETURNS TABLE (ticket_id bigint, rank real)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.ticket_id, ts_rank(d.document, query, 32) FROM search_ticketdocument d
    WHERE d.organization_id = search_tenant() AND d.document @@ query
$$;

CREATE FUNCTION search_match_comments(query tsquery)
RETURNS TABLE (ticket_id bigint, rank real, comment_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.ticket_id, ts_rank(c.search_vector, query, 32), c.id FROM tickets_ticketcomment c
    WHERE c.organization_id = search_tenant() AND c.search_vector @@ query
      AND c.deleted_at IS NULL
$$;

-- Canned responses, people, attachments, organizations: (id, rank) of the matches.
CREATE FUNCTION search_match_rows(kind text, query tsquery)
RETURNS TABLE (id bigint, rank real)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    org bigint := search_tenant();
BEGIN
    IF kind = 'canned_responses' THEN
        RETURN QUERY SELECT r.id, ts_rank(r.search_vector, query, 32) FROM tickets_cannedresponse r
            WHERE r.organization_id = org AND r.search_vector @@ query AND r.deleted_at IS NULL;
    ELSIF kind = 'users' THEN
        RETURN QUERY SELECT u.id, ts_rank(u.search_vector, query, 32) FROM accounts_user u
            WHERE u.organization_id = org AND u.search_vector @@ query AND u.deleted_at IS NULL;
    ELSIF kind = 'attachments' THEN
        RETURN QUERY SELECT a.id, ts_rank(a.search_vector, query, 32)
            FROM tickets_ticketattachment a
            WHERE a.organization_id = org AND a.search_vector @@ query;
    ELSIF kind = 'organizations' THEN
        RETURN QUERY SELECT o.id, ts_rank(o.search_vector, query, 32)
            FROM organizations_organization o
            WHERE o.id = org AND o.search_vector @@ query AND o.deleted_at IS NULL;
    END IF;
END $$;

-- Suggestion candidates (kind, id, text) whose text contains `pattern` (an ILIKE
-- pattern), up to `lim` of each kind: distinct subjects, canned response names (shared
-- or the caller's), customer names.
CREATE FUNCTION search_suggestions(pattern text, prefix text, me bigint, lim integer)
RETURNS TABLE (kind text, id bigint, text text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    (SELECT 'subject', NULL::bigint, s.subject FROM search_subject s
     WHERE s.organization_id = search_tenant() AND s.subject ILIKE pattern
     ORDER BY (s.subject ILIKE prefix) DESC, length(s.subject), s.subject LIMIT lim)
    UNION ALL
    (SELECT 'canned_response', r.id, r.name FROM tickets_cannedresponse r
     WHERE r.organization_id = search_tenant() AND r.deleted_at IS NULL
       AND r.name ILIKE pattern AND (r.owner_id IS NULL OR r.owner_id = me)
     ORDER BY (r.name ILIKE prefix) DESC, length(r.name), r.name LIMIT lim)
    UNION ALL
    (SELECT 'customer', u.id, u.full_name FROM accounts_user u
     WHERE u.organization_id = search_tenant() AND u.role = 'customer'
       AND u.deleted_at IS NULL AND u.full_name ILIKE pattern
     ORDER BY (u.full_name ILIKE prefix) DESC, length(u.full_name), u.full_name LIMIT lim)
$$;

-- "Did you mean": the nearest known word of the tenant's vocabulary to each word.
CREATE FUNCTION search_nearest_words(words text[])
RETURNS TABLE (word text, ord bigint, known boolean, nearest text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT w.word, w.ord,
           EXISTS (SELECT 1 FROM search_word s
                   WHERE s.organization_id = search_tenant() AND s.word = w.word),
           (SELECT s.word FROM search_word s
            WHERE s.organization_id = search_tenant() AND s.word % w.word
            ORDER BY similarity(s.word, w.word) DESC, s.word LIMIT 1)
    FROM unnest(words) WITH ORDINALITY AS w(word, ord)
$$;
"""

MATCHES_REVERSE = """
DROP FUNCTION IF EXISTS search_nearest_words(text[]);
DROP FUNCTION IF EXISTS search_suggestions(text, text, bigint, integer);
DROP FUNCTION IF EXISTS search_match_rows(text, tsquery);
DROP FUNCTION IF EXISTS search_match_comments(tsquery);
DROP FUNCTION IF EXISTS search_match_documents(tsquery);
"""

CONFIGURATIONS_REVERSE = """
DROP FUNCTION IF EXISTS search_tenant();
DROP FUNCTION IF EXISTS search_ticket_vector(regconfig, text, text);
DROP FUNCTION IF EXISTS search_split_words(text);
DROP FUNCTION IF EXISTS search_config(bigint);
DROP TEXT SEARCH CONFIGURATION IF EXISTS deskbase_simple;
DROP TEXT SEARCH CONFIGURATION IF EXISTS deskbase_english;
"""

TICKETS = """
CREATE TABLE search_ticketdocument (
    ticket_id bigint PRIMARY KEY,
    organization_id bigint NOT NULL,
    document tsvector NOT NULL
);
-- No foreign key to tickets_ticket: it would stop the bulk load's TRUNCATE (and so
-- COPY FREEZE) of an empty tickets table. A purge deletes the row by trigger, and
-- every query joins the ticket anyway.
CREATE UNIQUE INDEX search_ticketdocument_recent ON search_ticketdocument (organization_id, ticket_id);
CREATE INDEX search_ticketdocument_gin ON search_ticketdocument USING gin (organization_id, document);

-- Distinct ticket subjects per organization: the suggestion source for staff (a few
-- thousand rows where tickets are millions), and their words for "did you mean".
CREATE TABLE search_subject (
    organization_id bigint NOT NULL,
    subject text NOT NULL
);
CREATE UNIQUE INDEX search_subject_unique ON search_subject (organization_id, lower(subject));
CREATE INDEX search_subject_trgm ON search_subject USING gin (organization_id, subject gin_trgm_ops);
CREATE TABLE search_word (
    organization_id bigint NOT NULL,
    word text NOT NULL,
    PRIMARY KEY (organization_id, word)
);
CREATE INDEX search_word_trgm ON search_word USING gin (organization_id, word gin_trgm_ops);

CREATE FUNCTION search_remember_subject(org bigint, subject text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_subject (organization_id, subject) VALUES (org, subject)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        INSERT INTO search_word (organization_id, word)
        SELECT DISTINCT org, w
        FROM regexp_split_to_table(lower(unaccent(subject)), '[^[:alnum:]]+') AS w
        WHERE length(w) BETWEEN 3 AND 40
        ON CONFLICT DO NOTHING;
    END IF;
END $$;

CREATE FUNCTION search_ticket_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_ticketdocument (ticket_id, organization_id, document)
    VALUES (NEW.id, NEW.organization_id,
            search_ticket_vector(search_config(NEW.organization_id), NEW.subject, NEW.description))
    ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document;
    IF TG_OP = 'INSERT' OR OLD.subject IS DISTINCT FROM NEW.subject THEN
        PERFORM search_remember_subject(NEW.organization_id, NEW.subject);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER search_ticket_document AFTER INSERT ON tickets_ticket
FOR EACH ROW EXECUTE FUNCTION search_ticket_document();
CREATE TRIGGER search_ticket_document_update AFTER UPDATE OF subject, description ON tickets_ticket
FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject
                   OR OLD.description IS DISTINCT FROM NEW.description)
EXECUTE FUNCTION search_ticket_document();

CREATE FUNCTION search_ticket_purged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_ticketdocument WHERE ticket_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER search_ticket_purged AFTER DELETE ON tickets_ticket
FOR EACH ROW EXECUTE FUNCTION search_ticket_purged();
"""

TICKETS_REVERSE = """
DROP TRIGGER IF EXISTS search_ticket_purged ON tickets_ticket;
DROP FUNCTION IF EXISTS search_ticket_purged();
DROP TRIGGER IF EXISTS search_ticket_document_update ON tickets_ticket;
DROP TRIGGER IF EXISTS search_ticket_document ON tickets_ticket;
DROP FUNCTION IF EXISTS search_ticket_document();
DROP FUNCTION IF EXISTS search_remember_subject(bigint, text);
DROP TABLE IF EXISTS search_word;
DROP TABLE IF EXISTS search_subject;
DROP TABLE IF EXISTS search_ticketdocument;
"""


# `deskbase search reindex` rewrites the source column onto itself with this setting on:
# the trigger (named to fire after <table>_touch_updated_at, triggers fire by name)
# then keeps updated_at, so a re-index is not a change anybody made.
KEEP_UPDATED_AT = """
    IF TG_OP = 'UPDATE' AND current_setting('deskbase.search_reindex', true) = 'on' THEN
        NEW.updated_at := OLD.updated_at;
    END IF;"""


def column_vector(table: str, function: str, expression: str, columns: str, touch: bool) -> str:
    """A search_vector column on `table` set by a BEFORE trigger from `expression`."""
    keep = KEEP_UPDATED_AT if touch else ""
    return f"""
ALTER TABLE {table} ADD COLUMN search_vector tsvector;
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cfg regconfig := search_config(NEW.organization_id);
BEGIN
    NEW.search_vector := {expression};{keep}
    RETURN NEW;
END $$;
CREATE TRIGGER {table}_vector BEFORE INSERT OR UPDATE OF {columns} ON {table}
FOR EACH ROW EXECUTE FUNCTION {function}();
"""


def column_vector_reverse(table: str, function: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_vector ON {table};
DROP FUNCTION IF EXISTS {function}();
ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector;
"""


VECTORS = [
    # (table, trigger function, expression, columns that change it, has updated_at)
    ("tickets_ticketcomment", "search_comment_vector",
     "setweight(to_tsvector(cfg, coalesce(NEW.body_text, '')), 'C')", "body_text", True),
    ("tickets_cannedresponse", "search_canned_vector",
     "setweight(to_tsvector(cfg, coalesce(NEW.name, '')), 'A')"
     " || setweight(to_tsvector(cfg, coalesce(NEW.body, '')), 'B')", "name, body", True),
    ("accounts_user", "search_user_vector",
     "setweight(to_tsvector(cfg, coalesce(NEW.full_name, '')), 'A')"
     " || setweight(to_tsvector('deskbase_simple', search_split_words(NEW.email)), 'B')",
     "full_name, email", False),
    ("tickets_ticketattachment", "search_attachment_vector",
     "setweight(to_tsvector(cfg, search_split_words(NEW.file_name)), 'A')", "file_name", False),
]  # fmt: skip

ORGANIZATION_VECTOR = """
ALTER TABLE organizations_organization ADD COLUMN search_vector tsvector;
CREATE FUNCTION search_organization_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := setweight(to_tsvector(
        CASE WHEN coalesce(NEW.settings ->> 'search_language', 'english') = 'english'
             THEN 'deskbase_english'::regconfig ELSE 'deskbase_simple'::regconfig END,
        coalesce(NEW.name, '') || ' ' || coalesce(NEW.slug, '')), 'A');{keep}
    RETURN NEW;
END $$;
CREATE TRIGGER organizations_organization_vector BEFORE INSERT OR UPDATE OF name, slug, settings
ON organizations_organization FOR EACH ROW EXECUTE FUNCTION search_organization_vector();
""".replace("{keep}", KEEP_UPDATED_AT)

INDEXES = """
CREATE INDEX search_comment_gin ON tickets_ticketcomment USING gin (organization_id, search_vector);
-- The newest comments of a tenant first: the walk for very common words (docs/search.md).
CREATE INDEX search_comment_recent ON tickets_ticketcomment (organization_id, id);
CREATE INDEX search_canned_gin ON tickets_cannedresponse USING gin (organization_id, search_vector);
CREATE INDEX search_canned_name_trgm ON tickets_cannedresponse
    USING gin (organization_id, name gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX search_user_gin ON accounts_user USING gin (organization_id, search_vector);
CREATE INDEX search_customer_name_trgm ON accounts_user
    USING gin (organization_id, full_name gin_trgm_ops)
    WHERE role = 'customer' AND deleted_at IS NULL;
CREATE INDEX search_attachment_gin ON tickets_ticketattachment
    USING gin (organization_id, search_vector);
CREATE INDEX search_organization_gin ON organizations_organization USING gin (search_vector);
CREATE INDEX search_organization_name_trgm ON organizations_organization
    USING gin (name gin_trgm_ops);
"""

INDEXES_REVERSE = """
DROP INDEX IF EXISTS search_organization_name_trgm;
DROP INDEX IF EXISTS search_organization_gin;
DROP INDEX IF EXISTS search_attachment_gin;
DROP INDEX IF EXISTS search_customer_name_trgm;
DROP INDEX IF EXISTS search_user_gin;
DROP INDEX IF EXISTS search_canned_name_trgm;
DROP INDEX IF EXISTS search_canned_gin;
DROP INDEX IF EXISTS search_comment_recent;
DROP INDEX IF EXISTS search_comment_gin;
"""

# Rows that existed before this migration get their vectors (a no-op on a new database;
# on a large one, `deskbase search reindex` does the same per organization).
BACKFILL = """
SELECT set_config('deskbase.search_reindex', 'on', true);
UPDATE tickets_ticketcomment SET body_text = body_text;
UPDATE tickets_cannedresponse SET name = name;
UPDATE accounts_user SET full_name = full_name;
UPDATE tickets_ticketattachment SET file_name = file_name;
UPDATE organizations_organization SET name = name;
INSERT INTO search_ticketdocument (ticket_id, organization_id, document)
SELECT id, organization_id, search_ticket_vector(search_config(organization_id), subject, description)
FROM tickets_ticket ON CONFLICT (ticket_id) DO NOTHING;
SELECT search_remember_subject(organization_id, subject) FROM tickets_ticket;
"""

SEARCH_LOG = """
CREATE SEQUENCE search_searchlog_id_seq AS bigint;
-- Range-partitioned by month on created_at (the shared convention: children
-- search_searchlog_pYYYYMM, a DEFAULT partition as the safety net; the partition
-- manager of dbtools creates later months and applies retention).
CREATE TABLE search_searchlog (
    id bigint NOT NULL DEFAULT nextval('search_searchlog_id_seq'),
    organization_id bigint NOT NULL,
    user_id bigint,
    query text NOT NULL,
    types text NOT NULL DEFAULT '',
    result_count integer NOT NULL CHECK (result_count >= 0),
    latency_ms real NOT NULL CHECK (latency_ms >= 0),
    opened_type text,
    opened_id bigint,
    opened_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, created_at, id)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE search_searchlog_id_seq OWNED BY search_searchlog.id;
CREATE TABLE search_searchlog_default PARTITION OF search_searchlog DEFAULT;
DO $$
DECLARE
    month date := date_trunc('month', now() - interval '1 month')::date;
    part text;
BEGIN
    FOR i IN 0..4 LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF search_searchlog'
            ' FOR VALUES FROM (%L) TO (%L)',
            'search_searchlog_p' || to_char(month, 'YYYYMM'), month, month + interval '1 month');
        month := month + interval '1 month';
    END LOOP;
    -- The parent's policies guard queries through the parent only: a partition read
    -- by its own name applies its own, so each gets the tenant policies too.
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'search_searchlog'::regclass LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (organization_id = %s)'
                       ' WITH CHECK (organization_id = %s)', part, 'search_tenant()',
                       'search_tenant()');
        EXECUTE format('CREATE POLICY owner_maintenance ON %I TO CURRENT_USER'
                       ' USING (true) WITH CHECK (true)', part);
    END LOOP;
END $$;
"""

SEARCH_LOG_REVERSE = (
    "DROP TABLE IF EXISTS search_searchlog; DROP SEQUENCE IF EXISTS search_searchlog_id_seq;"
)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_customer_queue_index"),
        ("accounts", "0005_api_token_rules"),
        ("organizations", "0002_database_rules"),
    ]

    operations = [
        migrations.RunSQL(CONFIGURATIONS, CONFIGURATIONS_REVERSE),
        migrations.RunSQL(TICKETS, TICKETS_REVERSE),
        *[
            migrations.RunSQL(column_vector(t, f, e, c, touch), column_vector_reverse(t, f))
            for t, f, e, c, touch in VECTORS
        ],
        migrations.RunSQL(
            ORGANIZATION_VECTOR,
            column_vector_reverse("organizations_organization", "search_organization_vector"),
        ),
        migrations.RunSQL(INDEXES, INDEXES_REVERSE),
        migrations.RunSQL(ESTIMATE, "DROP FUNCTION IF EXISTS search_estimates(bigint, text[])"),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(SEARCH_LOG, SEARCH_LOG_REVERSE),
        migrations.RunSQL(MATCHES, MATCHES_REVERSE),
        enable_rls("search_ticketdocument"),
        enable_rls("search_subject"),
        enable_rls("search_word"),
        enable_rls("search_searchlog"),
    ]
