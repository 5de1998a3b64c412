"""What a many-row INSERT costs written with a row of placeholders a row, and with one array a column.

    make bench PYTEST_ARGS=tests/bench/test_unnest_insert_cost.py

The escalation tick writes its outbox rows, and ingestion a batch's new incidents and alerts, in
one INSERT (``opsplatform/core/prepared.py``). Written as ``insert_sql`` writes it (``VALUES (…),
(…)``), the statement's text grows with its rows: psycopg parses texts over 4 KB afresh every time
(a regular-expression pass, about a microsecond a placeholder) and PostgreSQL parses and plans all of
it every time. ``insert_statement`` (``unnest`` of one array a column) keeps one text for any number
of rows; it is chosen past 4 KB of ``insert_sql``'s text. For each form, and the one
``insert_statement`` chooses, and row count, in alternating rounds on one connection, each statement
rolled back: this process's CPU time and the wall time per statement (the wall time less this
process's CPU is mostly the database's work). ``BENCH_ROUNDS`` (300) statements of each.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.db import transaction

from notifications.models import Medium, Notification
from opsplatform.core.prepared import (
    bound_cursor,
    insert_params,
    insert_sql,
    insert_statement,
    unnest_insert_sql,
)
from tests.incidents.factories import IncidentFactory

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
PAIRS = 6


def _values_form(rows):
    return insert_sql(Notification, "", rows=len(rows)), [v for row in rows for v in insert_params(row)]


def _arrays_form(rows):
    return unnest_insert_sql(Notification, ""), [
        list(column) for column in zip(*(insert_params(row) for row in rows), strict=True)
    ]


def _chosen_form(rows):
    return insert_statement(Notification, rows)


def _per_statement(form, rows, rounds: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        statement, params = form(rows)
        with transaction.atomic():
            sid = transaction.savepoint()
            with bound_cursor(params) as cursor:
                cursor.execute(statement, params)
            transaction.savepoint_rollback(sid)
    return (time.process_time() - cpu) * 1e6 / rounds, (time.perf_counter() - wall) * 1e6 / rounds


@pytest.mark.django_db
def test_many_row_insert_costs():
    incident = IncidentFactory()
    print(
        f"\nINSERT of N outbox rows, per statement"
        f" (median of {PAIRS} alternating rounds of {ROUNDS // PAIRS})"
    )
    for count in (5, 30, 60, 200):
        rows = [
            Notification(
                organization=incident.organization,
                incident=incident,
                idempotency_key=f"bench-{count}-{n}",
                medium=Medium.WEBHOOK,
                destination="https://hooks.example.net/ops",
            )
            for n in range(count)
        ]
        results = {"values": [], "arrays": [], "insert_statement": []}
        for pair in range(PAIRS):
            order = [("values", _values_form), ("arrays", _arrays_form), ("insert_statement", _chosen_form)]
            for name, form in order if pair % 2 == 0 else reversed(order):
                _per_statement(form, rows, 3)  # warm: cached conversion, prepared statement
                results[name].append(_per_statement(form, rows, ROUNDS // PAIRS))
        line = []
        for name, rounds in results.items():
            cpu = statistics.median(c for c, _ in rounds)
            wall = statistics.median(w for _, w in rounds)
            line.append(f"{name}: CPU {cpu:.0f} us, wall {wall:.0f} us")
        print(f"{count:>4} rows: " + "; ".join(line))
    assert not Notification.objects.filter(idempotency_key__startswith="bench-").exists()
