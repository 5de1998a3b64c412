"""Full-text search over the articles a reader may read, with a trigram fallback for typos.

One SQL statement ranks the matches on the stored, GIN-indexed ``search_vector`` (``websearch``
syntax: ``"exact phrase"``, ``or``, ``-exclude``). Ranking reads every row it ranks, so a common word
(thousands of matches) would cost thousands of page reads and ``ts_rank_cd`` calls: only a bounded
candidate set is ranked, the first title matches (through the title's own GIN index, since a title
match outranks any body match) and the first matches overall. ``ts_headline`` re-parses the body, so
it runs for the returned page only and over a bounded prefix of the body. When nothing matches,
titles similar to the query (``pg_trgm`` word similarity, GIN-indexed) stand in; on a server
without pg_trgm (the embedded PostgreSQL) the newest titles are compared in-process instead.

A search is one round trip: the reader's spaces and the organization's language are subqueries of
the statement (``Filters.space_ids`` may be a queryset of spaces, computed once in ``q``; the
language is read when no ``config`` is given), not statements of their own: under load every round
trip costs more than the search itself.

Snippets are HTML: PostgreSQL marks the hits with private-use characters, the rest is escaped here,
and only then do the markers become ``<mark>`` tags, so an article's own markup never reaches a page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from html import escape

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from knowledge.models import DEFAULT_SEARCH_CONFIG

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
    # What a runbook's stale flag is computed from (knowledge.effectiveness), read with the hit.
    runbook_for: dict | None = None
    updated_at: datetime | None = None
    reviewed_at: datetime | None = None


@dataclass(frozen=True)
class Filters:
    # What the reader may read (narrowed by a space filter): ids, or a queryset of spaces, which the
    # statement then reads itself as a subquery.
    space_ids: list[int] | QuerySet
    tag: str | None = None
    service_id: int | None = None


def safe_snippet(text: str) -> str:
    return escape(text or "").replace(START, "<mark>").replace(STOP, "</mark>")


# Read after the hit's own columns by every statement that returns hits (see ``_hit``).
HIT_COLUMNS = "a.runbook_for, a.updated_at, a.reviewed_at"


def _hit(row, snippet: str, *, fuzzy: bool = False) -> Hit:
    runbook_for = row[4]
    if isinstance(runbook_for, str):  # jsonb arrives as text through a raw cursor
        runbook_for = json.loads(runbook_for)
    return Hit(
        id=row[0],
        title=row[1],
        rank=float(row[2]),
        snippet=safe_snippet(snippet),
        fuzzy=fuzzy,
        runbook_for=runbook_for,
        updated_at=row[5],
        reviewed_at=row[6],
    )


def _spaces_array(space_ids) -> tuple[str, list]:
    """The spaces to search as an SQL array and its arguments; ``EmptyResultSet`` when there is none."""
    if isinstance(space_ids, QuerySet):
        sql, params = space_ids.order_by().values("pk").query.sql_with_params()
        return f"ARRAY({sql})", list(params)
    if not space_ids:
        raise EmptyResultSet
    return "%s::bigint[]", [list(space_ids)]


def _where(filters: Filters, spaces: tuple[str, list] | None = None) -> tuple[str, list]:
    """The articles' conditions and their arguments, the first (the organization) left None for the
    caller. ``spaces``: the array of spaces (``_spaces_array``), or one the statement already holds."""
    spaces_sql, space_params = spaces or _spaces_array(filters.space_ids)
    clauses = ["a.organization_id = %s", f"a.space_id = ANY({spaces_sql})"]
    params = [None, *space_params]
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
WITH q AS MATERIALIZED (SELECT websearch_to_tsquery({config}, %s) AS query, {spaces} AS spaces),
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
       CASE WHEN page.n <= %s THEN ts_headline(a.search_config, left(a.body, %s), q.query, %s) END,
       {hit_columns}
FROM page JOIN knowledge_article a ON a.id = page.id, q
ORDER BY page.rank DESC, page.id DESC
"""


# The organization's search language, when the caller did not read it already.
CONFIG_SQL = (
    "coalesce((SELECT s.search_config FROM knowledge_knowledgesettings s"
    " WHERE s.organization_id = %s), %s)::regconfig"
)


def fts_statement(organization_id, config, query, filters, *, limit, offset, snippets=None):
    """The ranked search statement and its arguments (the benchmark runs exactly this). ``config``
    None: the organization's language, read by the statement. ``EmptyResultSet`` when the filters
    leave no space to read."""
    spaces = _spaces_array(filters.space_ids)
    return _fts_statement(organization_id, config, query, filters, spaces, window=(limit, offset, snippets))


def _fts_statement(organization_id, config, query, filters, spaces, *, window):
    limit, offset, snippets = window
    snippets = limit if snippets is None else snippets
    # The spaces are computed once, in ``q``, and read from there by both candidate scans.
    where, params = _where(filters, ("q.spaces", []))
    params[0] = organization_id
    spaces_sql, space_params = spaces
    if config is None:
        config_sql, config_args = CONFIG_SQL, [organization_id, DEFAULT_SEARCH_CONFIG]
    else:
        config_sql, config_args = "%s::regconfig", [config]
    args = [*config_args, query, *space_params, *params, TITLE_CANDIDATES, *params, CANDIDATES, limit, offset]
    args += [offset + snippets, HEADLINE_PREFIX, HEADLINE_OPTIONS]
    sql = FTS_SQL.format(config=config_sql, spaces=spaces_sql, where=where, hit_columns=HIT_COLUMNS)
    return sql, args


# The typo fallback re-checks word similarity on every row the trigram index proposes (a common
# stem proposes thousands), so it too ranks a bounded set.
TYPO_CANDIDATES = 500

# The default word-similarity threshold (0.6) misses a swapped letter in a short word; ``<%`` and
# its index read the threshold setting while they run. It is set by the statement itself, for its
# own transaction only: the candidates are a LATERAL subquery that depends on the set_config row, so
# they cannot be scanned before it (a volatile call is never pulled up). One round trip, where a
# transaction with a separate set_config took four (BEGIN, set, select, COMMIT).
TRIGRAM_SQL = """
SELECT c.id, c.title, c.rank, left(a.body, 200) AS snippet, {hit_columns}
FROM (SELECT set_config('pg_trgm.word_similarity_threshold', %s, true) AS threshold) t
CROSS JOIN LATERAL (
    SELECT a.id, a.title, word_similarity(%s, a.title) AS rank
    FROM knowledge_article a
    WHERE {where} AND t.threshold IS NOT NULL AND %s <%% a.title
    LIMIT %s
) c
JOIN knowledge_article a ON a.id = c.id
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
    """Ranked hits, best first, in one statement (one more when nothing matches and titles similar
    to the query stand in). ``limit + 1`` rows may be asked for to learn whether a next page
    exists, with ``snippets=limit`` so the look-ahead row costs no headline (its snippet is empty)."""
    query = (query or "").strip()[:MAX_QUERY]
    if not query:
        return []
    try:
        spaces = _spaces_array(filters.space_ids)
    except EmptyResultSet:  # no space to read
        return []
    statement = _fts_statement(
        organization.pk, None, query, filters, spaces, window=(limit, offset, snippets)
    )
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        rows = cursor.fetchall()
        if rows or offset:
            return [_hit(row, row[3]) for row in rows]
        where, params = _where(filters, spaces)
        params[0] = organization.pk
        if not _has_trigram(cursor):
            return _similar_titles(cursor, where, params, query, window=(limit, offset))
        cursor.execute(
            TRIGRAM_SQL.format(where=where, hit_columns=HIT_COLUMNS),
            [TYPO_THRESHOLD, query, *params, query, TYPO_CANDIDATES, limit, offset],
        )
        rows = cursor.fetchall()
    return [_hit(row, row[3], fuzzy=True) for row in rows]


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
SELECT a.id, a.title, 0, left(a.body, 200), {hit_columns}
FROM knowledge_article a WHERE {where} ORDER BY a.id DESC LIMIT %s
"""


def _similar_titles(cursor, where, params, query, *, window) -> list[Hit]:
    """The typo fallback on a server without pg_trgm: the best ratio of a query word to a title word."""
    limit, offset = window
    cursor.execute(
        CANDIDATES_SQL.format(where=where, hit_columns=HIT_COLUMNS), [*params, FALLBACK_CANDIDATES]
    )
    words = [w for w in query.lower().split() if w]
    scored = []
    for row in cursor.fetchall():
        title_words = row[1].lower().split() or [""]
        rank = max(SequenceMatcher(None, w, t).ratio() for w in words for t in title_words)
        if rank >= FALLBACK_MIN_RATIO:
            scored.append((rank, (row[0], row[1], rank, *row[3:])))
    scored.sort(key=lambda pair: (-pair[0], -pair[1][0]))
    return [_hit(row, row[3], fuzzy=True) for _, row in scored[offset : offset + limit]]
