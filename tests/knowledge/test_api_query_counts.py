"""What one request of ``/api/v1/articles/`` costs in database round trips, pinned.

Under load every round trip costs more than the search itself (docs/benchmarks.md, "Knowledge
search"), so the budget is exact: authentication (measured, see ``auth_queries``), then one
statement that reads the reader's spaces and the organization's language itself, whatever the
number of hits; a page holding runbooks adds their stale flag (the organization's stale days, the
ledger's service changes and the postmortems' "wrong" verdicts), whatever the number of runbooks.
A query per hit (an N+1) or a separate look-up of the spaces fails these.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge.services.spaces import organization_space

pytestmark = pytest.mark.django_db

STEPS = "- [ ] Check lag\n- [ ] Promote the replica\n"


@pytest.fixture
def viewer_api(api_as):
    api = api_as("viewer")
    # The first request of a token stamps its last use (at most once a minute): not counted below.
    assert api.get("/api/v1/knowledge-spaces/").status_code == 200
    return api


def _get(api, params):
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/articles/", params)
    assert response.status_code == 200, response.content
    return response.json(), [q["sql"] for q in queries.captured_queries]


@pytest.fixture
def auth_queries(viewer_api):
    """What authentication costs (today the token, then the member's role): a method the route does
    not offer is authenticated, then answered 405 without running any of knowledge's code."""
    with CaptureQueriesContext(connection) as queries:
        assert viewer_api.delete("/api/v1/articles/").status_code == 405
    sqls = [q["sql"] for q in queries.captured_queries]
    assert sqls and not _knowledge(sqls), sqls
    return len(sqls)


def _knowledge(sqls):
    return [sql for sql in sqls if "knowledge_" in sql]


@pytest.mark.parametrize("articles", [1, 25])
def test_a_search_is_one_statement_whatever_the_hits(write, viewer_api, articles, auth_queries):
    for i in range(articles):
        write(f"Replica failover {i}", "promote the replica")
    body, sqls = _get(viewer_api, {"q": "replica"})
    assert len(body["results"]) == min(articles, 20)
    assert (body["next"] is not None) == (articles > 20)
    assert len(sqls) == auth_queries + 1, sqls
    [statement] = _knowledge(sqls)
    # The reader's spaces and the search language are read inside the search statement.
    assert "knowledge_space" in statement and "knowledge_knowledgesettings" in statement


def test_a_space_filter_costs_nothing_when_it_finds_hits(
    write, viewer_api, payments_space, org, auth_queries
):
    general = organization_space(org)
    write("Replica failover", "promote the replica")
    body, sqls = _get(viewer_api, {"q": "replica", "space": general.pk})
    assert len(body["results"]) == 1 and len(sqls) == auth_queries + 1
    # An empty answer asks whether the space exists: a space the viewer cannot read is a 400.
    response = viewer_api.get("/api/v1/articles/", {"q": "replica", "space": payments_space.pk})
    assert response.status_code == 400 and "space" in str(response.json())


@pytest.mark.parametrize("runbooks", [2, 21])
def test_runbooks_on_the_page_add_their_stale_flags_once(write, viewer_api, checkout, runbooks, auth_queries):
    for i in range(runbooks):
        write(f"Replica runbook {i}", STEPS + "replica", runbook_for={"services": [checkout.pk]})
    body, sqls = _get(viewer_api, {"q": "replica"})
    assert len(body["results"]) == min(runbooks, 20)
    # The search, the organization's stale days, the ledger's changes of the runbooks' services,
    # the postmortems' "wrong" verdicts on them.
    assert len(sqls) == auth_queries + 4, sqls


def test_the_typo_fallback_costs_one_more_statement(write, viewer_api, auth_queries):
    write("Kubernetes node not ready", "kubectl describe node")
    _get(viewer_api, {"q": "kubrenetes"})  # a process asks once whether pg_trgm is there
    body, sqls = _get(viewer_api, {"q": "kubrenetes"})
    assert [hit["fuzzy"] for hit in body["results"]] == [True]
    # The full-text statement (nothing matched), then the title similarity (which sets its own
    # threshold: no transaction around a separate statement).
    assert len(sqls) == auth_queries + 2, sqls


@pytest.mark.parametrize("articles", [1, 25])
def test_the_list_without_a_query_is_one_statement(write, viewer_api, articles, auth_queries):
    for i in range(articles):
        write(f"Note {i}", "a long body " * 200)
    body, sqls = _get(viewer_api, {})
    assert len(body["results"]) == min(articles, 20)
    assert len(sqls) == auth_queries + 1, sqls
    [statement] = _knowledge(sqls)
    assert '"knowledge_article"."body"' not in statement  # a list row needs no body
