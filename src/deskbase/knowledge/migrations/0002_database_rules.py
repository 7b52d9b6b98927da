"""The knowledge base's rules in PostgreSQL (docs/knowledge-base.md).

- same-tenant foreign keys everywhere, and a translation's published revision is
  one of its own revisions: (id, published_revision_id) -> revision (translation_id, id);
- revisions are append-only (an UPDATE is refused; rows go with their translation);
- a translation's search document (its published title A, the article's tags B, its
  published body C) is kept by triggers in the translation's language configuration;
- SECURITY DEFINER match functions, as for tickets (search/migrations/0001): with
  row-level security the GIN and trigram indexes serve only the owner's queries;
- the view log, range-partitioned by month on viewed_at (no foreign key: a log);
- row-level security on every table.
"""

from django.db import migrations

from deskbase.core.migrations._frozen import (
    create_partitions_ahead,
    enable_rls,
    tenant_foreign_key,
    touch_updated_at,
)

PUBLISHED_OWN = """
ALTER TABLE knowledge_translation ADD CONSTRAINT knowledge_translation_published_revision_id_same_org
    FOREIGN KEY (id, published_revision_id) REFERENCES knowledge_revision (translation_id, id)
    DEFERRABLE INITIALLY DEFERRED;
"""
PUBLISHED_OWN_REVERSE = """
ALTER TABLE knowledge_translation
    DROP CONSTRAINT IF EXISTS knowledge_translation_published_revision_id_same_org;
"""

APPEND_ONLY = """
CREATE FUNCTION knowledge_revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'revisions are never changed: save a new one'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'knowledge_revision_append_only';
END $$;
CREATE TRIGGER knowledge_revision_append_only BEFORE UPDATE ON knowledge_revision
FOR EACH ROW EXECUTE FUNCTION knowledge_revision_append_only();
"""
APPEND_ONLY_REVERSE = """
DROP TRIGGER IF EXISTS knowledge_revision_append_only ON knowledge_revision;
DROP FUNCTION IF EXISTS knowledge_revision_append_only();
"""

SEARCH = """
-- The text search configuration of a translation's language; `simple` (unaccented,
-- no stemming) for a language PostgreSQL has no stemmer for.
CREATE FUNCTION knowledge_config(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE split_part(language, '-', 1)
        WHEN 'en' THEN 'deskbase_english'
        WHEN 'de' THEN 'pg_catalog.german'
        WHEN 'fr' THEN 'pg_catalog.french'
        WHEN 'es' THEN 'pg_catalog.spanish'
        WHEN 'it' THEN 'pg_catalog.italian'
        WHEN 'pt' THEN 'pg_catalog.portuguese'
        WHEN 'nl' THEN 'pg_catalog.dutch'
        WHEN 'sv' THEN 'pg_catalog.swedish'
        WHEN 'da' THEN 'pg_catalog.danish'
        WHEN 'fi' THEN 'pg_catalog.finnish'
        WHEN 'no' THEN 'pg_catalog.norwegian'
        WHEN 'nb' THEN 'pg_catalog.norwegian'
        WHEN 'ru' THEN 'pg_catalog.russian'
        WHEN 'tr' THEN 'pg_catalog.turkish'
        WHEN 'hu' THEN 'pg_catalog.hungarian'
        WHEN 'ro' THEN 'pg_catalog.romanian'
        ELSE 'deskbase_simple'
    END::regconfig
$$;

CREATE FUNCTION knowledge_document(language text, title text, tags text[], body text)
RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
    SELECT setweight(to_tsvector(knowledge_config(language), coalesce(title, '')), 'A')
        || setweight(to_tsvector(knowledge_config(language),
                                 coalesce(array_to_string(tags, ' '), '')), 'B')
        || setweight(to_tsvector(knowledge_config(language), coalesce(body, '')), 'C')
$$;

ALTER TABLE knowledge_translation ADD COLUMN search_vector tsvector;
ALTER TABLE knowledge_translation ADD COLUMN search_title text;

-- The published revision's text, or nothing while unpublished.
CREATE FUNCTION knowledge_translation_document() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    revision record;
BEGIN
    SELECT r.title, r.body INTO revision FROM knowledge_revision r
    WHERE r.id = NEW.published_revision_id;
    IF NEW.published_revision_id IS NULL OR NOT FOUND THEN
        NEW.search_vector := NULL;
        NEW.search_title := NULL;
    ELSE
        NEW.search_title := revision.title;
        NEW.search_vector := knowledge_document(
            NEW.language, revision.title,
            (SELECT a.tags FROM knowledge_article a WHERE a.id = NEW.article_id), revision.body);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER knowledge_translation_document
BEFORE INSERT OR UPDATE OF published_revision_id, language ON knowledge_translation
FOR EACH ROW EXECUTE FUNCTION knowledge_translation_document();

-- New tags: the documents of the article's published translations follow.
CREATE FUNCTION knowledge_article_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE knowledge_translation t
    SET search_vector = knowledge_document(t.language, r.title, NEW.tags, r.body)
    FROM knowledge_revision r
    WHERE t.article_id = NEW.id AND r.id = t.published_revision_id;
    RETURN NULL;
END $$;
CREATE TRIGGER knowledge_article_tags AFTER UPDATE OF tags ON knowledge_article
FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags)
EXECUTE FUNCTION knowledge_article_tags();

CREATE INDEX knowledge_translation_search ON knowledge_translation
    USING gin (organization_id, search_vector) WHERE search_vector IS NOT NULL;
CREATE INDEX knowledge_translation_title_trgm ON knowledge_translation
    USING gin (organization_id, search_title gin_trgm_ops) WHERE search_title IS NOT NULL;

-- (translation id, rank) of the transaction's tenant's published translations in
-- `language` matching `query`; the caller reads the rows under row-level security.
CREATE FUNCTION knowledge_match(query tsquery, lang text)
RETURNS TABLE (translation_id bigint, rank real)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id, ts_rank(t.search_vector, query, 32) FROM knowledge_translation t
    WHERE t.organization_id = search_tenant() AND t.search_vector @@ query
      AND t.language = lang
$$;

-- (translation id, similarity) of published titles in `language` like `typed`.
CREATE FUNCTION knowledge_similar(typed text, lang text)
RETURNS TABLE (translation_id bigint, similarity real)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id, word_similarity(typed, t.search_title) FROM knowledge_translation t
    WHERE t.organization_id = search_tenant() AND typed <% t.search_title
      AND t.language = lang
$$;
"""
SEARCH_REVERSE = """
DROP FUNCTION IF EXISTS knowledge_similar(text, text);
DROP FUNCTION IF EXISTS knowledge_match(tsquery, text);
DROP TRIGGER IF EXISTS knowledge_article_tags ON knowledge_article;
DROP FUNCTION IF EXISTS knowledge_article_tags();
DROP TRIGGER IF EXISTS knowledge_translation_document ON knowledge_translation;
DROP FUNCTION IF EXISTS knowledge_translation_document();
ALTER TABLE knowledge_translation DROP COLUMN IF EXISTS search_title;
ALTER TABLE knowledge_translation DROP COLUMN IF EXISTS search_vector;
DROP FUNCTION IF EXISTS knowledge_document(text, text, text[], text);
DROP FUNCTION IF EXISTS knowledge_config(text);
"""

VIEWS_TABLE = "knowledge_articleview"
VIEWS = f"""
CREATE TABLE {VIEWS_TABLE} (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    organization_id bigint NOT NULL,
    article_id bigint NOT NULL,
    language varchar(5) NOT NULL,
    visitor varchar(80) NOT NULL,
    viewed_at timestamptz NOT NULL DEFAULT statement_timestamp(),
    PRIMARY KEY (organization_id, viewed_at, id)
) PARTITION BY RANGE (viewed_at);
CREATE INDEX knowledge_articleview_article ON {VIEWS_TABLE} (organization_id, article_id, viewed_at);
"""
# No foreign key to the article: like the search log, the view log is an append-only
# record kept by retention (a key would also stop `flush` from truncating articles).


def create_views(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(VIEWS)
        create_partitions_ahead(cursor, VIEWS_TABLE, "viewed_at")


def drop_views(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {VIEWS_TABLE}")


SAME_ORG = [
    ("knowledge_section", "category_id", "knowledge_category", "NO ACTION"),
    ("knowledge_article", "section_id", "knowledge_section", "NO ACTION"),
    ("knowledge_article", "author_id", "accounts_user", "NO ACTION"),
    ("knowledge_translation", "article_id", "knowledge_article", "CASCADE"),
    ("knowledge_revision", "translation_id", "knowledge_translation", "CASCADE"),
    ("knowledge_revision", "author_id", "accounts_user", "SET NULL (author_id)"),
    ("knowledge_feedback", "article_id", "knowledge_article", "CASCADE"),
]
TIMESTAMPED = [
    "knowledge_category", "knowledge_section", "knowledge_article", "knowledge_translation",
]  # fmt: skip
TENANT_TABLES = [
    "knowledge_category", "knowledge_section", "knowledge_article", "knowledge_translation",
    "knowledge_revision", "knowledge_feedback",
]  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
        ("search", "0001_search_schema"),
        ("accounts", "0006_audit_log_and_sessions"),
    ]

    operations = [
        *[touch_updated_at(table) for table in TIMESTAMPED],
        *[tenant_foreign_key(t, c, target, on_delete=d) for t, c, target, d in SAME_ORG],
        migrations.RunSQL(PUBLISHED_OWN, PUBLISHED_OWN_REVERSE),
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_REVERSE),
        migrations.RunSQL(SEARCH, SEARCH_REVERSE),
        migrations.RunPython(create_views, drop_views),
        *[enable_rls(table) for table in TENANT_TABLES],
        enable_rls(VIEWS_TABLE),
    ]
