"""Full-text search over the articles a reader may read, with a trigram fallback for typos.

One SQL statement ranks the matches on the stored, GIN-indexed ``search_vector`` (``websearch``
syntax: ``"exact phrase"``, ``or``, ``-exclude``). Ranking reads every row it ranks, so a common word
(thousands of matches) would cost thousands of page reads and ``ts_rank_cd`` calls: only a bounded
candidate set is ranked, the first title matches (through the title's own GIN index, since a title
match outranks any body match) and the first matches overall. ``ts_headline`` re-parses the body, so
it runs for the returned page only and over a bounded prefix of the body. When nothing matches,
titles similar to the query (``pg_trgm`` word similarity, GIN-indexed) stand in; on a server
without pg_trgm (the embedded PostgreSQL) the newest titles are compared in-process instead.

Snippets are HTML: PostgreSQL marks the hits with private-use characters, the rest is escaped here,
and only then do the markers become ``<mark>`` tags, so an article's own markup never reaches a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from html import escape

from django.db import connection, transaction

from knowledge.services.spaces import search_config_of

START, STOP = "\ue000", "\ue001"
HEADLINE_OPTIONS = f'StartSel="{START}", StopSel="{STOP}", MaxWords=35, MinWords=12, MaxFragments=2'
MAX_QUERY = 500
TYPO_THRESHOLD = "0.4"


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    snippet: str  # safe HTML: escaped text with <mark> around the matches
    rank: float
    fuzzy: bool = False


@dataclass(frozen=True)
class Filters:
    space_ids: list[int]  # what the reader may read (narrowed by a space filter)
    tag: str | None = None
    service_id: int | None = None


def safe_snippet(text: str) -> str:
    return escape(text or "").replace(START, "<mark>").replace(STOP, "</mark>")


def _where(filters: Filters) -> tuple[str, list]:
    clauses, params = ["a.organization_id = %s", "a.space_id = ANY(%s)"], [None, filters.space_ids]
    if filters.tag:
        clauses.append("a.tags @> ARRAY[%s]::varchar[]")
        params.append(filters.tag)
    if filters.service_id:
        clauses.append(
            "EXISTS (SELECT 1 FROM knowledge_article_services s"
            " WHERE s.article_id = a.id AND s.service_id = %s)"
        )
        params.append(filters.service_id)
    return " AND ".join(clauses), params


# Bounds of the ranked candidate set. Fixed, not raised for a deep page: a larger set could rank
# a newcomer above hits already shown, so pages would repeat; past the bound the hits end.
TITLE_CANDIDATES = 200
CANDIDATES = 500
# Snippets come from this many leading characters of the body: a headline parses all it is given.
HEADLINE_PREFIX = 4000

FTS_SQL = """
WITH q AS MATERIALIZED (SELECT websearch_to_tsquery(%s::regconfig, %s) AS query),
candidates AS (
    (SELECT a.id, a.search_vector FROM knowledge_article a, q
     WHERE {where} AND to_tsvector(a.search_config, coalesce(a.title, '')) @@ q.query
     LIMIT %s)
    UNION ALL
    (SELECT a.id, a.search_vector FROM knowledge_article a, q
     WHERE {where} AND a.search_vector @@ q.query
     LIMIT %s)
),
ranked AS (
    SELECT c.id, ts_rank_cd(c.search_vector, q.query) AS rank
    FROM (SELECT DISTINCT ON (id) id, search_vector FROM candidates) c, q
),
page AS (
    SELECT id, rank, row_number() OVER (ORDER BY rank DESC, id DESC) AS n
    FROM ranked ORDER BY rank DESC, id DESC LIMIT %s OFFSET %s
)
SELECT a.id, a.title, page.rank,
       CASE WHEN page.n <= %s THEN ts_headline(a.search_config, left(a.body, %s), q.query, %s) END
FROM page JOIN knowledge_article a ON a.id = page.id, q
ORDER BY page.rank DESC, page.id DESC
"""


def fts_statement(organization_id, config, query, filters, *, limit, offset, snippets=None):
    """The ranked search statement and its arguments (the benchmark runs exactly this)."""
    where, params = _where(filters)
    params[0] = organization_id
    snippets = limit if snippets is None else snippets
    args = [config, query, *params, TITLE_CANDIDATES, *params, CANDIDATES, limit, offset]
    args += [offset + snippets, HEADLINE_PREFIX, HEADLINE_OPTIONS]
    return FTS_SQL.format(where=where), args


# The typo fallback re-checks word similarity on every row the trigram index proposes (a common
# stem proposes thousands), so it too ranks a bounded set.
TYPO_CANDIDATES = 500

TRIGRAM_SQL = """
SELECT c.id, c.title, c.rank, left(a.body, 200) AS snippet
FROM (
    SELECT a.id, a.title, word_similarity(%s, a.title) AS rank
    FROM knowledge_article a
    WHERE {where} AND %s <%% a.title
    LIMIT %s
) c JOIN knowledge_article a ON a.id = c.id
ORDER BY c.rank DESC, c.id DESC
LIMIT %s OFFSET %s
"""


def search(
    organization,
    query: str,
    filters: Filters,
    *,
    limit: int = 20,
    offset: int = 0,
    snippets: int | None = None,
) -> list[Hit]:
    """Ranked hits, best first. ``limit + 1`` rows may be asked for to learn whether a next page
    exists, with ``snippets=limit`` so the look-ahead row costs no headline (its snippet is empty)."""
    query = (query or "").strip()[:MAX_QUERY]
    if not query or not filters.space_ids:
        return []
    where, params = _where(filters)
    params[0] = organization.pk
    config = search_config_of(organization)
    statement = fts_statement(
        organization.pk, config, query, filters, limit=limit, offset=offset, snippets=snippets
    )
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        rows = cursor.fetchall()
        if rows or offset:
            return [Hit(id=r[0], title=r[1], rank=float(r[2]), snippet=safe_snippet(r[3])) for r in rows]
        if not _has_trigram(cursor):
            return _similar_titles(cursor, where, params, query, window=(limit, offset))
        with transaction.atomic():
            # The default word-similarity threshold (0.6) misses a swapped letter in a short word.
            cursor.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)", [TYPO_THRESHOLD]
            )
            cursor.execute(
                TRIGRAM_SQL.format(where=where), [query, *params, query, TYPO_CANDIDATES, limit, offset]
            )
            rows = cursor.fetchall()
    return [Hit(id=r[0], title=r[1], rank=float(r[2]), snippet=safe_snippet(r[3]), fuzzy=True) for r in rows]


_TRIGRAM: dict[str, bool] = {}
# Without pg_trgm, titles are compared in-process: bounded to the newest articles the reader may see.
FALLBACK_CANDIDATES = 5000
FALLBACK_MIN_RATIO = 0.75


def _has_trigram(cursor) -> bool:
    alias = connection.alias
    if alias not in _TRIGRAM:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        _TRIGRAM[alias] = cursor.fetchone() is not None
    return _TRIGRAM[alias]


CANDIDATES_SQL = """
SELECT a.id, a.title, left(a.body, 200) FROM knowledge_article a WHERE {where} ORDER BY a.id DESC LIMIT %s
"""


def _similar_titles(cursor, where, params, query, *, window) -> list[Hit]:
    """The typo fallback on a server without pg_trgm: the best ratio of a query word to a title word."""
    limit, offset = window
    cursor.execute(CANDIDATES_SQL.format(where=where), [*params, FALLBACK_CANDIDATES])
    words = [w for w in query.lower().split() if w]
    scored = []
    for pk, title, body in cursor.fetchall():
        title_words = title.lower().split() or [""]
        rank = max(SequenceMatcher(None, w, t).ratio() for w in words for t in title_words)
        if rank >= FALLBACK_MIN_RATIO:
            scored.append((rank, pk, title, body))
    scored.sort(key=lambda row: (-row[0], -row[1]))
    return [
        Hit(id=pk, title=title, rank=rank, snippet=safe_snippet(body), fuzzy=True)
        for rank, pk, title, body in scored[offset : offset + limit]
    ]
