"""``bound_cursor`` (opsplatform/core/prepared.py): the values of a hot path's many-row statements
sent apart from the statement and bound by the server, still through Django's cursor wrapping; and a
statement with more values than the protocol carries bound on the client, as Django binds them."""

import pytest
from django.db import connection
from django.db.utils import DataError
from django.test.utils import CaptureQueriesContext

from incidents.models import RawPayload
from opsplatform.core.prepared import MAX_BOUND_PARAMETERS, bound_cursor, insert_rows
from tests.bench.tenant import bench_tenant
from tests.statements import sent

pytestmark = pytest.mark.django_db


def _type_of_one(cursor_factory) -> str:
    with cursor_factory([1]) as cursor:
        cursor.execute("SELECT pg_typeof(%s)::text", [1])
        return cursor.fetchone()[0]


def test_values_are_bound_by_the_server():
    # Bound by the server, a Python int arrives as a typed value (the smallest integer type that
    # holds it); quoted into the text, as Django's cursor does, it is a literal the parser types.
    assert _type_of_one(bound_cursor) == "smallint"
    assert _type_of_one(lambda params: connection.cursor()) == "integer"


def test_its_statements_pass_through_djangos_execute_wrappers_and_error_translation():
    with sent() as statements, bound_cursor([7]) as cursor:
        cursor.execute("SELECT %s + 1", [7])
        assert cursor.fetchone() == (8,)
    assert statements == ["SELECT %s + 1"]
    with pytest.raises(DataError), bound_cursor(["x"]) as cursor:
        cursor.execute("SELECT %s::integer", ["x"])


def test_its_statements_are_in_the_query_log_when_queries_are_logged():
    with CaptureQueriesContext(connection) as logged, bound_cursor([7]) as cursor:
        cursor.execute("SELECT %s + 2", [7])
    assert [query["sql"] for query in logged.captured_queries] == ["SELECT $1 + 2"]


def test_more_values_than_the_protocol_carries_are_bound_on_the_client():
    values = list(range(MAX_BOUND_PARAMETERS + 10))
    placeholders = ", ".join(["%s"] * len(values))
    with bound_cursor(values) as cursor:
        cursor.execute(f"SELECT cardinality(ARRAY[{placeholders}]::bigint[]), %s", [*values, 1])
        assert cursor.fetchone() == (len(values), 1)
    # The same statement bound by the server is refused by the protocol's limit.
    with pytest.raises(Exception, match="65535"), bound_cursor() as cursor:
        cursor.execute(f"SELECT cardinality(ARRAY[{placeholders}]::bigint[]), %s", [*values, 1])


def test_rows_are_inserted_a_chunk_a_statement():
    integration = bench_tenant().integration("alertmanager", "AM").integration
    rows = [
        RawPayload(organization_id=integration.organization_id, integration=integration, body=f"body {n}")
        for n in range(5)
    ]
    with sent() as statements:
        insert_rows(RawPayload, rows, per_statement=2)
    assert [s.count("), (") + 1 for s in statements] == [2, 2, 1]
    stored = RawPayload.objects.filter(integration=integration)
    assert sorted((p.pk, p.body) for p in stored) == sorted((r.pk, r.body) for r in rows)
