"""The database driver as every process tunes it (opsplatform/core/driver.py): wide statements parsed
once, and times and JSON read by psycopg's compiled loaders with exactly the values Django's own
loaders give."""

import datetime
from datetime import UTC

import psycopg
import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test import override_settings
from psycopg import _queries, postgres
from psycopg.pq import Format

from incidents.ingest.sql import INCIDENT_UPSERT
from incidents.models import Incident
from opsplatform.core.driver import TIMESTAMPTZ_OID, UtcTimestamptzLoader
from opsplatform.core.prepared import insert_params, insert_sql
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db

TIMES = """
SELECT t FROM unnest(ARRAY[
    '2026-12-05 05:02:43.252712+00', '1999-12-31 23:59:59.999999+00', '2026-03-29 01:30:00+02',
    '0001-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00', '2026-07-01 12:00:00-09:30'
]::timestamptz[]) AS t
"""


def _read(sql, *, django_loader=False):
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(UTC, cursor.cursor)  # what Django registers on its own
        cursor.execute(sql)
        return cursor.fetchall()


def test_a_batch_of_new_incidents_is_parsed_once_per_process_not_on_every_request():
    # The statement of five new incidents' upsert: 205 parameters, over psycopg's own limit of 50.
    statement = insert_sql(Incident, INCIDENT_UPSERT, rows=5)
    incidents = [Incident(organization_id=1, title="t", dedup_key=f"k{n}") for n in range(5)]
    params = [value for incident in incidents for value in insert_params(incident)]
    assert len(params) > 50
    connection.ensure_connection()
    cursor = psycopg.ClientCursor(connection.connection)
    cursor.mogrify(statement, params)
    before = _queries._query2pg_client.cache_info()
    cursor.mogrify(statement, params)
    after = _queries._query2pg_client.cache_info()
    assert after.hits == before.hits + 1
    assert after.misses == before.misses


def test_times_are_read_by_psycopgs_compiled_loader():
    connection.ensure_connection()
    assert connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is UtcTimestamptzLoader
    compiled = postgres.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert type(UtcTimestamptzLoader(TIMESTAMPTZ_OID)) is compiled
    assert compiled.__module__.startswith("psycopg_binary")  # the binary package, as pinned
    jsonb = postgres.types["jsonb"].oid
    text_loader = postgres.adapters.get_loader(postgres.types["text"].oid, Format.TEXT)
    assert connection.connection.adapters.get_loader(jsonb, Format.TEXT) is text_loader


def test_times_read_as_django_reads_them_to_the_microsecond_and_zone():
    ours, djangos = _read(TIMES), _read(TIMES, django_loader=True)
    assert [repr(v) for v in ours] == [repr(v) for v in djangos]
    assert all(value.tzinfo is UTC for (value,) in ours)
    assert ours[2][0] == datetime.datetime(2026, 3, 28, 23, 30, tzinfo=UTC)


def test_a_time_out_of_pythons_range_is_the_same_error_either_way():
    for django_loader in (False, True):
        with pytest.raises(DataError, match="after year 10K"):
            _read("SELECT 'infinity'::timestamptz", django_loader=django_loader)


def test_models_keep_their_times_and_json_through_a_save_and_a_read():
    labels = {"team": "payments", "note": "ünïcode ✓", "nested": {"list": [1, 2.5, None, True]}}
    incident = IncidentFactory(labels=labels)
    read = Incident.objects.get(pk=incident.pk)
    assert read.created_at == incident.created_at and read.created_at.tzinfo is UTC
    assert read.labels == labels
    raw = Incident.objects.filter(pk=incident.pk).values_list("labels", flat=True).get()
    assert raw == labels


def test_without_time_zone_support_django_reads_naive_times_as_before():
    with override_settings(USE_TZ=False):
        (value,), *_ = _read(TIMES)
        assert value.tzinfo is None
        assert value == datetime.datetime(2026, 12, 5, 5, 2, 43, 252712)
    (value,), *_ = _read(TIMES)
    assert value.tzinfo is UTC
