"""``bound_cursor`` (opsplatform/core/prepared.py): the values of a hot path's many-row statements
sent apart from the statement and bound by the server, still through Django's cursor wrapping, and
the statements prepared on the connection once they ran five times; and a statement with more values
than the protocol carries bound on the client, as Django binds them."""

import pytest
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.db.utils import DataError
from django.test.utils import CaptureQueriesContext, isolate_apps

from incidents.models import RawPayload
from notifications.models import Notification
from opsplatform.core.prepared import (
    MAX_BOUND_PARAMETERS,
    bound_cursor,
    insert_params,
    insert_rows,
    unnest_insert_sql,
)
from tests.bench.tenant import bench_tenant
from tests.incidents.factories import IncidentFactory
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


def _payloads(count: int) -> list:
    integration = bench_tenant().integration("alertmanager", "AM").integration
    return [
        RawPayload(organization_id=integration.organization_id, integration=integration, body=f"body {n}")
        for n in range(count)
    ]


def _stored(rows) -> list:
    stored = RawPayload.objects.filter(pk__in=[row.pk for row in rows])
    return sorted((p.pk, p.body, p.received_at) for p in stored)


def test_few_rows_are_inserted_a_chunk_a_statement_a_row_of_placeholders_a_row():
    rows = _payloads(5)
    with sent() as statements:
        insert_rows(RawPayload, rows, per_statement=2)
    assert [s.count("), (") + 1 for s in statements] == [2, 2, 1]
    assert _stored(rows) == sorted((r.pk, r.body, r.received_at) for r in rows)


def test_many_rows_go_in_one_statement_text_an_array_a_column():
    # Past 4 KB of placeholders psycopg parses a statement's text afresh on every call: these two
    # statements of 150 rows are one short text, whatever their rows.
    rows = _payloads(300)
    with CaptureQueriesContext(connection) as logged:
        insert_rows(RawPayload, rows, per_statement=150)
    texts = [query["sql"] for query in logged.captured_queries]
    assert len(texts) == 2 and texts[0] == texts[1] and "unnest(" in texts[0] and len(texts[0]) < 1000
    assert _stored(rows) == sorted((r.pk, r.body, r.received_at) for r in rows)


@isolate_apps("opsplatform.core")  # a model of this test's own, out of the registry's sight
def test_a_model_with_an_array_column_is_inserted_with_a_row_of_placeholders_a_row():
    class Tagged(models.Model):
        tags = ArrayField(models.CharField(max_length=8))

        class Meta:
            app_label = "core"
            db_table = "test_tagged_rows"

        def __str__(self):
            return ",".join(self.tags)

    assert unnest_insert_sql(Tagged, "") is None
    with connection.schema_editor() as editor:
        editor.create_model(Tagged)
    try:
        insert_rows(Tagged, [Tagged(tags=["a", "b"]), Tagged(tags=[])])
        with connection.cursor() as cursor:
            cursor.execute("SELECT tags FROM test_tagged_rows ORDER BY id")
            assert cursor.fetchall() == [(["a", "b"],), ([],)]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Tagged)


def _insert_as_arrays(model, rows) -> None:
    """``rows`` through ``unnest_insert_sql`` (``insert_statement`` takes it for many rows only)."""
    columns = [list(column) for column in zip(*(insert_params(row) for row in rows), strict=True)]
    with bound_cursor(columns) as cursor:
        cursor.execute(unnest_insert_sql(model, ""), columns)


def _notifications(keys: list[str]) -> list:
    incident = IncidentFactory()
    return [
        Notification(
            organization=incident.organization, incident=incident, idempotency_key=key, medium="email"
        )
        for key in keys
    ]


def test_columns_of_nothing_but_nulls_go_through_their_arrays():
    # An array of NULLs alone says nothing of its type: the statement's cast does.
    rows = _notifications(["k-0", "k-1"])
    _insert_as_arrays(Notification, rows)
    stored = Notification.objects.filter(incident=rows[0].incident).order_by("idempotency_key")
    assert [
        (n.idempotency_key, n.claim_token, n.lease_until, n.recipient_id, n.last_status_code) for n in stored
    ] == [
        ("k-0", None, None, None, None),
        ("k-1", None, None, None, None),
    ]


def test_a_value_longer_than_its_column_is_refused_not_cut_short():
    # A cast to varchar(64)[] would cut it to 64 characters without a word; the column refuses it.
    with pytest.raises(DataError, match="too long"):
        _insert_as_arrays(Notification, _notifications(["k" * 65]))


def _prepared(marker: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{marker}%"]
        )
        return [row[0] for row in cursor.fetchall()]


def test_its_statements_are_prepared_on_the_connection_after_five_runs():
    statement = "SELECT %s::bigint + 1 AS bound_prepared_marker"
    for run in range(1, 7):
        with bound_cursor([run]) as cursor:
            cursor.execute(statement, [run])
            assert cursor.fetchone()[0] == run + 1
        assert bool(_prepared("bound_prepared_marker")) == (run > 5), run


def test_djangos_own_cursors_never_prepare():
    for run in range(7):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::bigint + 1 AS client_bound_marker", [run])
            assert cursor.fetchone()[0] == run + 1
    assert _prepared("client_bound_marker") == []
