"""Full-text search over the articles a reader may read, with a trigram fallback for typos.

One SQL statement ranks the matches on the stored, GIN-indexed ``search_vector`` (``websearch``
syntax: ``"exact phrase"``, ``or``, ``-exclude``) and computes ``ts_headline`` for the returned
page only, since headlines re-parse the body and are the expensive part. When nothing matches,
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


FTS_SQL = """
WITH q AS (SELECT websearch_to_tsquery(%s::regconfig, %s) AS query),
hits AS (
    SELECT a.id, a.title, a.body, a.search_config, ts_rank_cd(a.search_vector, q.query) AS rank
    FROM knowledge_article a, q
    WHERE {where} AND a.search_vector @@ q.query
    ORDER BY rank DESC, a.id DESC
    LIMIT %s OFFSET %s
)
SELECT hits.id, hits.title, hits.rank,
       ts_headline(hits.search_config, hits.body, q.query, %s) AS snippet
FROM hits, q
ORDER BY hits.rank DESC, hits.id DESC
"""

TRIGRAM_SQL = """
SELECT a.id, a.title, word_similarity(%s, a.title) AS rank, left(a.body, 200) AS snippet
FROM knowledge_article a
WHERE {where} AND %s <%% a.title
ORDER BY rank DESC, a.id DESC
LIMIT %s OFFSET %s
"""


def search(organization, query: str, filters: Filters, *, limit: int = 20, offset: int = 0) -> list[Hit]:
    """Ranked hits, best first; ``limit + 1`` rows may be asked for to learn whether a next page exists."""
    query = (query or "").strip()[:MAX_QUERY]
    if not query or not filters.space_ids:
        return []
    where, params = _where(filters)
    params[0] = organization.pk
    config = search_config_of(organization)
    with connection.cursor() as cursor:
        cursor.execute(FTS_SQL.format(where=where), [config, query, *params, limit, offset, HEADLINE_OPTIONS])
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
            cursor.execute(TRIGRAM_SQL.format(where=where), [query, *params, query, limit, offset])
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
