"""Knowledge search with 50,000 articles in one organization: the API through the real ASGI server
and the search selector in-process, beside the search statement run directly in PostgreSQL (from
Python and from pgbench), the previous unbounded statement, and a `SELECT 1` noise floor.

    DATABASE_URL=… pytest tests/bench/test_knowledge_search.py -s -p no:cacheprovider -o addopts=""

Samples of every row are interleaved (one request of each row per round), so a burst of load from
another process falls on all of them alike.
"""

import time

import httpx
import pytest
from django.db import connection

from knowledge.access import readable_spaces
from knowledge.search import HEADLINE_OPTIONS, Filters, _where, fts_statement, search
from knowledge.services.spaces import organization_space
from opsplatform.core.actors import Actor
from tests.bench.pgbench import literal_sql, pgbench_latencies
from tests.bench.timing import percentile, report
from tests.servers import asgi_server

N_ARTICLES = 50_000
REQUESTS = 50
PAGE = 20

# Articles are made in SQL: titles and bodies from a vocabulary, so a common word ("restart")
# matches a tenth of them, a rare one ("kubernetes") a few hundred.
POPULATE = """
WITH words AS (
    SELECT ARRAY['restart','latency','database','replica','queue','disk','certificate','timeout',
                 'deploy','rollback','cache','memory','network','dns','proxy','worker','kafka',
                 'postgres','redis','cluster','node','pod','alert','error','login','payment',
                 'checkout','search','index','backup'] AS w
)
INSERT INTO knowledge_article
    (organization_id, space_id, title, body, tags, search_config, created_at, updated_at)
SELECT %s, %s,
       initcap(w[1 + (i * 7) %% 30]) || ' ' || w[1 + (i * 13) %% 30] || ' runbook ' || i,
       repeat(w[1 + (i * 3) %% 30] || ' ' || w[1 + (i * 11) %% 30] || ' then check the ' ||
              w[1 + (i * 17) %% 30] || ' and the ' || w[1 + (i * 19) %% 30] || '. ', 20) ||
       CASE WHEN i %% 150 = 0 THEN ' kubernetes eviction' ELSE '' END,
       ARRAY[w[1 + i %% 30]]::varchar[], 'english', now(), now()
FROM generate_series(1, %s) AS i, words
"""

# The statement before candidates were bounded (ranks every match), kept to measure the change.
PREVIOUS_FTS_SQL = """
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

QUERIES = [
    ("rare word", "kubernetes"),
    ("common word", "restart"),
    ("two words", "replica latency"),
    ("phrase", '"check the disk"'),
    ("typo (trigram fallback)", "postgers"),
]


@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)
def test_knowledge_search_with_50k(org, users, token_for):
    space = organization_space(org)
    with connection.cursor() as cursor:
        cursor.execute(POPULATE, [org.pk, space.pk, N_ARTICLES])
        cursor.execute("ANALYZE knowledge_article")
    token = token_for("viewer")
    viewer = Actor.for_member(users["viewer"], org)
    filters = Filters(space_ids=list(readable_spaces(viewer).values_list("pk", flat=True)))

    def statement(query):
        return fts_statement(org.pk, "english", query, filters, limit=PAGE + 1, offset=0, snippets=PAGE)

    def previous(query):
        where, params = _where(filters)
        params[0] = org.pk
        return PREVIOUS_FTS_SQL.format(where=where), [
            "english",
            query,
            *params,
            PAGE + 1,
            0,
            HEADLINE_OPTIONS,
        ]

    def run(sql_args):
        def go():
            with connection.cursor() as cursor:
                cursor.execute(*sql_args)
                cursor.fetchall()

        return go

    with (
        asgi_server() as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api,
    ):

        def get(query):
            response = api.get("/api/v1/articles/", params={"q": query})
            assert response.status_code == 200, response.text[:300]
            assert response.json()["results"], query

        probes = [("PostgreSQL: SELECT 1 (noise floor)", run(("SELECT 1", [])))]
        for name, query in QUERIES:
            if "typo" not in name:
                probes.append((f"PostgreSQL previous statement: {name}", run(previous(query))))
                probes.append((f"PostgreSQL raw: {name}", run(statement(query))))
            probes.append(
                (f"selector: {name}", lambda q=query: search(org, q, filters, limit=PAGE + 1, snippets=PAGE))
            )
            probes.append((f"API: {name}", lambda q=query: get(q)))
        for _ in range(5):
            for _, probe in probes:
                probe()
        samples = {name: [] for name, _ in probes}
        for _ in range(REQUESTS):
            for name, probe in probes:
                samples[name].append(_elapsed_ms(probe))
    rows = list(samples.items())
    for name, query in QUERIES:
        if "typo" not in name:
            latencies = pgbench_latencies(literal_sql(*statement(query)), transactions=REQUESTS)
            if latencies:
                rows.append((f"pgbench, raw statement: {name}", latencies))
    floor = pgbench_latencies("SELECT 1", transactions=REQUESTS * 10)
    if floor:
        rows.append(("pgbench: SELECT 1 (noise floor)", floor))
    report(f"Knowledge search, {N_ARTICLES:,} articles, {REQUESTS} interleaved rounds", rows)
    worst = max(percentile(s, 95) for name, s in rows if name.startswith("API"))
    print(f"worst API p95: {worst:.2f} ms (target < 50 ms)")


def _elapsed_ms(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000
