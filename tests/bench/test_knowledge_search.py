"""Knowledge search with 50,000 articles in one organization: the API through the real ASGI server
and the search selector in-process, beside the same search statement run directly in PostgreSQL.

    make bench PYTEST_ARGS=tests/bench/test_knowledge_search.py
"""

import httpx
import pytest
from django.db import connection

from knowledge.access import readable_spaces
from knowledge.search import FTS_SQL, HEADLINE_OPTIONS, Filters, _where, search
from knowledge.services.spaces import organization_space
from opsplatform.core.actors import Actor
from tests.bench.timing import percentile, report, timed
from tests.servers import asgi_server

N_ARTICLES = 50_000
REQUESTS = 50

# Articles are made in SQL: titles and bodies from a vocabulary, so a common word ("restart")
# matches about a third of them, a rare one ("kubernetes") a few hundred.
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

    def raw(query):
        where, params = _where(filters)
        params[0] = org.pk
        sql = FTS_SQL.format(where=where)
        args = ["english", query, *params, 21, 0, HEADLINE_OPTIONS]

        def run():
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                cursor.fetchall()

        return run

    rows = []
    with (
        asgi_server() as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api,
    ):

        def get(query):
            response = api.get("/api/v1/articles/", params={"q": query})
            assert response.status_code == 200, response.text[:300]
            assert response.json()["results"], query

        for _ in range(10):
            for _, query in QUERIES:
                get(query)
        for name, query in QUERIES:
            if "typo" not in name:
                rows.append((f"PostgreSQL raw: {name}", timed(raw(query), REQUESTS)))
            selector = lambda q=query: search(org, q, filters, limit=21)  # noqa: E731
            rows.append((f"selector: {name}", timed(selector, REQUESTS)))
            rows.append((f"API: {name}", timed(lambda q=query: get(q), REQUESTS)))
    report(f"Knowledge search, {N_ARTICLES:,} articles, {REQUESTS} sequential requests each", rows)
    worst = max(percentile(samples, 95) for name, samples in rows if name.startswith("API"))
    print(f"worst API p95: {worst:.2f} ms (target < 50 ms)")
