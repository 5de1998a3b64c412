"""What writing a batch's new incidents and alerts costs the web before the database sees them.

    make bench PYTEST_ARGS=tests/bench/test_insert_statement_cost.py

An Alertmanager batch of the storm opens about five incidents and their five alerts, each group in
one many-row INSERT (``opsplatform/core/prepared.py``). Before PostgreSQL does anything, the web
process prepares every value for saving and psycopg converts the statement with its parameters. It
prints, per statement of five rows, the CPU time of: the values prepared field by field as Django
saves them, and by ``insert_params``; psycopg's parse of the statement (where its placeholders are)
as it was done on every request, and the whole conversion once the parse is kept
(``cache_wide_statements``). ``BENCH_ROUNDS`` (2,000) of each.
"""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from psycopg import _queries

from incidents.ingest.pending import ALERT_RETURNING
from incidents.ingest.sql import INCIDENT_UPSERT
from incidents.models import Alert, Incident, Severity
from opsplatform.core.prepared import insert_fields, insert_params, insert_sql

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2000"))
ROWS = 5


def _per_statement_us(function) -> float:
    start = time.process_time()
    for _ in range(ROUNDS):
        function()
    return (time.process_time() - start) * 1e6 / ROUNDS


def _rows() -> dict[str, tuple[list, str]]:
    now = timezone.now()
    incidents = [
        Incident(
            organization_id=1,
            title=f"Checkout error rate above 5% (storm-{n})",
            dedup_key=f"storm-{n}",
            labels={"alertname": "CheckoutErrors", "severity": "critical"},
            severity=Severity.SEV2,
            created_at=now,
            updated_at=now,
            last_alert_at=now,
            next_escalation_at=now,
            alerts_total=1,
            alerts_firing=1,
            alert_occurrences=1,
            integration_id=3,
        )
        for n in range(ROWS)
    ]
    alerts = [
        Alert(
            organization_id=1,
            incident_id=2,
            integration_id=3,
            dedup_key=f"storm-{n}",
            title="Checkout error rate above 5%",
            labels={"alertname": "CheckoutErrors"},
            occurrence_key="2026-01-01T00:00:00Z",
            first_seen_at=now,
            last_seen_at=now,
            active=True,
        )
        for n in range(ROWS)
    ]
    return {
        "incidents' upsert": (incidents, insert_sql(Incident, INCIDENT_UPSERT, rows=ROWS)),
        "alerts' insert": (alerts, insert_sql(Alert, ALERT_RETURNING, rows=ROWS)),
    }


@pytest.mark.django_db
def test_insert_statement_costs():
    connection.ensure_connection()
    cursor = psycopg.ClientCursor(connection.connection)
    print(f"\nOne INSERT of {ROWS} rows, CPU per statement, {ROUNDS} rounds")
    for name, (objects, statement) in _rows().items():
        fields = insert_fields(type(objects[0]))

        def django_values(objects=objects, fields=fields):
            for obj in objects:
                [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]

        def values(objects=objects):
            for obj in objects:
                insert_params(obj)

        params = [value for obj in objects for value in insert_params(obj)]
        encoded = statement.encode()
        parse = _per_statement_us(lambda encoded=encoded: _queries._query2pg_client_nocache(encoded, "utf-8"))
        cursor.mogrify(statement, params)
        hits = _queries._query2pg_client.cache_info().hits
        convert = _per_statement_us(lambda q=statement, p=params: cursor.mogrify(q, p))
        assert _queries._query2pg_client.cache_info().hits - hits == ROUNDS  # every conversion hit the cache
        django_us, ours_us = _per_statement_us(django_values), _per_statement_us(values)
        print(
            f"{name} ({len(params)} parameters): values as Django prepares them {django_us:.0f} us, "
            f"by insert_params {ours_us:.0f} us; psycopg's parse {parse:.0f} us (every request before), "
            f"conversion with it kept {convert:.0f} us"
        )
