"""Knowledge base articles for `deskbase generate --articles N` (docs/datagen.md).

Set-based SQL in the load's transaction, for one organization: 5 categories of 4 sections
(one of them for signed-in customers), N articles in English with 1-3 tags, their first
revision, published. Titles and bodies come from the ticket vocabulary, picked by a
hash of the seed and the article's rank in the load, so a seed gives the same articles. The search
vectors are computed by the knowledge triggers as each translation is published.
"""

# ruff: noqa: S608 - the SQL is assembled from constants; values are bound parameters.
from __future__ import annotations

from typing import Any

from deskbase.datagen import vocab

CATEGORIES = ("Getting started", "Account and billing", "Integrations", "Troubleshooting",
              "Administration")  # fmt: skip
SECTIONS = ("Basics", "How-to guides", "Known issues", "For customers")

PICK = (
    "(%(words)s::text[])"
    "[1 + abs(hashtext(%(seed)s || ':' || {key})) %% cardinality(%(words)s::text[])]"
)


def _pick(words: str, key: str) -> str:
    return PICK.replace("%(words)s", f"%({words})s").format(key=key)


ARTICLES = f"""
INSERT INTO knowledge_article
    (organization_id, section_id, language, tags, author_id, delete_reason)
SELECT %(org)s, (%(sections)s::bigint[])[1 + i %% cardinality(%(sections)s::bigint[])], 'en',
       ARRAY[lower({_pick("nouns", "i || 't1'")}), lower({_pick("nouns", "i || 't2'")})],
       %(author)s, ''
FROM generate_series(1, %(count)s) AS i ORDER BY i
RETURNING id
"""
TRANSLATIONS = f"""
INSERT INTO knowledge_translation
    (organization_id, article_id, language, review_state, title, slug, body)
SELECT %(org)s, a.id, 'en', 'draft', x.title,
       trim(BOTH '-' FROM left(regexp_replace(lower(x.title), '[^a-z0-9]+', '-', 'g'), 80)),
       x.body
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM knowledge_article
      WHERE organization_id = %(org)s AND id = ANY(%(articles)s)) a,
LATERAL (SELECT
    initcap({_pick("nouns", "a.n")}) || ' ' || {_pick("symptoms", "a.n || 's'")} AS title,
    'If the ' || {_pick("nouns", "a.n")} || ' ' || {_pick("symptoms", "a.n || 's'")}
      || ', try what helped before: we ' || {_pick("fixes", "a.n || 'f'")} || E'.\\n\\n'
      || 'This happens when ' || lower({_pick("causes", "a.n || 'c'")}) || '. '
      || 'Check the ' || {_pick("nouns", "a.n || 'n2'")} || ' and the '
      || {_pick("nouns", "a.n || 'n3'")} || ' settings, then try again.' AS body) x
"""
REVISIONS = """
INSERT INTO knowledge_revision
    (organization_id, translation_id, number, title, body, body_html, author_id, note)
SELECT t.organization_id, t.id, 1, t.title, t.body,
       '<p>' || replace(replace(replace(t.body, '&', '&amp;'), '<', '&lt;'),
                        E'\\n\\n', E'</p>\\n<p>') || E'</p>\\n',
       %(author)s, 'generated'
FROM knowledge_translation t WHERE t.organization_id = %(org)s AND t.article_id = ANY(%(articles)s)
"""
PUBLISH = """
UPDATE knowledge_translation t
SET published_revision_id = r.id, published_at = now(), review_state = 'approved'
FROM knowledge_revision r
WHERE r.translation_id = t.id AND t.organization_id = %(org)s
  AND t.article_id = ANY(%(articles)s)
"""


def generate_articles(cursor: Any, *, organization_id: int, count: int, seed: int) -> int:
    """Add `count` published articles to the organization (owner role, in the caller's
    transaction); how many were made."""
    if count <= 0:
        return 0
    cursor.execute(
        "SELECT id FROM accounts_user WHERE organization_id = %s AND role IN ('admin', 'agent')"
        " AND deleted_at IS NULL ORDER BY role, id LIMIT 1",
        [organization_id],
    )
    row = cursor.fetchone()
    if row is None:
        return 0
    author = row[0]
    sections: list[int] = []
    for position, name in enumerate(CATEGORIES):
        cursor.execute(
            "INSERT INTO knowledge_category"
            " (organization_id, name, slug, position, description, delete_reason)"
            " VALUES (%s, %s, %s, %s, '', '') RETURNING id",
            [organization_id, name, f"{'-'.join(name.lower().split())}-{seed}", position],
        )
        (category,) = cursor.fetchone()
        for order, section in enumerate(SECTIONS):
            visibility = "customers" if section == "For customers" else "public"
            cursor.execute(
                "INSERT INTO knowledge_section"
                " (organization_id, category_id, name, slug, visibility, position,"
                " description, delete_reason) VALUES (%s, %s, %s, %s, %s, %s, '', '')"
                " RETURNING id",
                [organization_id, category, section, "-".join(section.lower().split()),
                 visibility, order],
            )  # fmt: skip
            sections.append(cursor.fetchone()[0])
    words = {
        "nouns": list(vocab.NOUNS), "symptoms": list(vocab.SYMPTOMS),
        "fixes": list(vocab.FIXES), "causes": list(vocab.CAUSES),
    }  # fmt: skip
    params: dict[str, Any] = {
        "org": organization_id, "count": count, "seed": str(seed), "sections": sections,
        "author": author, **words,
    }  # fmt: skip
    cursor.execute(ARTICLES, params)
    params["articles"] = [row[0] for row in cursor.fetchall()]
    cursor.execute(TRANSLATIONS, params)
    cursor.execute(REVISIONS, params)
    cursor.execute(PUBLISH, params)
    # Every table written: the few sections and categories never reach autovacuum's
    # analyze threshold, and without their statistics the planner hashed every visible
    # translation for each search instead of looking up the matches.
    cursor.execute(
        "ANALYZE knowledge_category, knowledge_section, knowledge_article, knowledge_revision,"
        " knowledge_translation"
    )
    return len(params["articles"])
