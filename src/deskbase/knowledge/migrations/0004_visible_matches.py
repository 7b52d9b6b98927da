"""Help center search and suggestions find only what the reader may see, best first.

`knowledge_match` / `knowledge_similar` (0002) return every match of the tenant; the
caller then joined each one to its article, section and category to drop deleted and
invisible ones before keeping the top few — with 10,000 articles, hashing every
translation for a thousand matches. These functions filter deletion and visibility
where the matches are found and return only the top `lim` rows, so the caller joins
a page, not every match. SECURITY DEFINER like the others (an index serves only
leakproof operators under row-level security): each table is filtered by the
transaction's tenant, and the caller reads the returned rows under RLS.

`langs`: the reader's language and, for a regional one (`en-us` from a browser), its
plain language (`en`), so readers find the articles written in it.

The small structure tables get per-table analyze thresholds: autovacuum's default
(50 changed rows plus 10 %) means an organization's 5 categories and 20 sections are
never analyzed, and without statistics the planner guessed wrong for every search.
"""

from django.db import migrations

# PL/pgSQL, not one joined statement: ranking the matches of the translation alone is
# cheap (the GIN index, then each match's vector), while joining every match to its
# article before sorting made the planner hash all the tenant's articles. Here the
# visible sections are read first (a handful of ids), the matches are ranked, and
# articles are checked one by one in rank order (primary key probes) until `lim` are
# kept: usually little more than `lim` probes.
FUNCTIONS = r"""
CREATE FUNCTION knowledge_visible_sections(org bigint, visible text[]) RETURNS bigint[]
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT ARRAY(
        SELECT s.id FROM knowledge_section s
        JOIN knowledge_category c ON c.organization_id = s.organization_id AND c.id = s.category_id
        WHERE s.organization_id = org AND s.deleted_at IS NULL AND c.deleted_at IS NULL
          AND s.visibility = ANY (visible))
$$;

CREATE FUNCTION knowledge_match_visible(query tsquery, langs text[], visible text[], lim integer)
RETURNS TABLE (translation_id bigint, rank real)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 20 AS $$
DECLARE
    org bigint := search_tenant();
    sections bigint[] := knowledge_visible_sections(org, visible);
    candidate record;
    kept integer := 0;
BEGIN
    IF org IS NULL OR lim < 1 OR cardinality(sections) = 0 THEN
        RETURN;
    END IF;
    FOR candidate IN
        SELECT t.id, t.article_id, ts_rank(t.search_vector, query, 32) AS score
        FROM knowledge_translation t
        WHERE t.organization_id = org AND t.search_vector @@ query AND t.language = ANY (langs)
        ORDER BY score DESC, t.id
    LOOP
        CONTINUE WHEN NOT EXISTS (
            SELECT FROM knowledge_article a
            WHERE a.organization_id = org AND a.id = candidate.article_id
              AND a.deleted_at IS NULL AND a.section_id = ANY (sections));
        translation_id := candidate.id;
        rank := candidate.score;
        RETURN NEXT;
        kept := kept + 1;
        EXIT WHEN kept >= lim;
    END LOOP;
END
$$;

-- A threshold of 0.5 (pg_trgm's default is 0.6) lets one missing letter through:
-- word_similarity('prnter', 'Printer offline') is 0.5. Set for the loop and put back
-- (a SET clause on the function would need pg_trgm loaded when it is created).
CREATE FUNCTION knowledge_similar_visible(typed text, langs text[], visible text[], lim integer)
RETURNS TABLE (translation_id bigint, similarity real)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 20 AS $$
DECLARE
    org bigint := search_tenant();
    sections bigint[] := knowledge_visible_sections(org, visible);
    previous text := current_setting('pg_trgm.word_similarity_threshold', true);
    candidate record;
    kept integer := 0;
BEGIN
    IF org IS NULL OR lim < 1 OR cardinality(sections) = 0 THEN
        RETURN;
    END IF;
    PERFORM set_config('pg_trgm.word_similarity_threshold', '0.5', true);
    FOR candidate IN
        SELECT t.id, t.article_id, word_similarity(typed, t.search_title) AS score
        FROM knowledge_translation t
        WHERE t.organization_id = org AND typed <% t.search_title AND t.language = ANY (langs)
        ORDER BY score DESC, t.id
    LOOP
        CONTINUE WHEN NOT EXISTS (
            SELECT FROM knowledge_article a
            WHERE a.organization_id = org AND a.id = candidate.article_id
              AND a.deleted_at IS NULL AND a.section_id = ANY (sections));
        translation_id := candidate.id;
        similarity := candidate.score;
        RETURN NEXT;
        kept := kept + 1;
        EXIT WHEN kept >= lim;
    END LOOP;
    PERFORM set_config('pg_trgm.word_similarity_threshold', coalesce(previous, '0.6'), true);
END
$$;

-- Markdown as readers see it, for snippets: link and image targets and emphasis,
-- heading and quote marks dropped (the text of links and images stays).
CREATE FUNCTION knowledge_plain(body text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(
        regexp_replace(body, '!?\[([^\]]*)\]\([^)]*\)', '\1', 'g'),
        '[*_`#>~|]+', ' ', 'g')
$$;

ALTER TABLE knowledge_category SET (autovacuum_analyze_threshold = 5, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE knowledge_section SET (autovacuum_analyze_threshold = 5, autovacuum_analyze_scale_factor = 0.05);
"""
REVERSE = """
ALTER TABLE knowledge_section RESET (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor);
ALTER TABLE knowledge_category RESET (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor);
DROP FUNCTION IF EXISTS knowledge_similar_visible(text, text[], text[], integer);
DROP FUNCTION IF EXISTS knowledge_match_visible(tsquery, text[], text[], integer);
DROP FUNCTION IF EXISTS knowledge_visible_sections(bigint, text[]);
DROP FUNCTION IF EXISTS knowledge_plain(text);
"""


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_deflection")]

    operations = [migrations.RunSQL(FUNCTIONS, REVERSE)]
