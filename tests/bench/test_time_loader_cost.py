"""What reading a time costs: Django's ``timestamptz`` loader against psycopg's compiled one.

    make bench PYTEST_ARGS=tests/bench/test_time_loader_cost.py

Reads ``BENCH_ROWS`` (20,000) rows of five times each through Django's cursor, with the loader every
connection now uses (``opsplatform/core/driver.py``) and with the one Django registers itself, and
prints the time per value (the query and its transfer included, the same for both). That the two
give equal values is ``tests/core/test_driver.py``'s to show; here, that every value has the zone.
"""

from __future__ import annotations

import os
import time
from datetime import UTC

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

ROWS = int(os.environ.get("BENCH_ROWS", "20000"))
QUERY = (
    "SELECT now() - g * interval '1 second', now() - g * interval '1 minute', now(), now(), now()"
    " FROM generate_series(1, %s) AS g"
)


def _read(django_loader: bool) -> tuple[float, list]:
    best, rows = None, []
    for _ in range(3):
        with connection.cursor() as cursor:
            if django_loader:
                register_tzloader(UTC, cursor.cursor)
            start = time.perf_counter()
            cursor.execute(QUERY, [ROWS])
            rows = cursor.fetchall()
            elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best * 1e6 / (ROWS * 5), rows


@pytest.mark.django_db
def test_time_loader_cost():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the connection and its loaders exist before timing
    ours_us, ours = _read(django_loader=False)
    django_us, django_rows = _read(django_loader=True)
    print(f"\nReading {ROWS * 5:,} timestamptz values (best of 3, query and transfer included):")
    print(f"  Django's loader:            {django_us:.2f} µs a value")
    print(f"  psycopg's compiled loader:  {ours_us:.2f} µs a value")
    assert len(ours) == ROWS and len(django_rows) == ROWS
    assert all(value.tzinfo is UTC for row in ours for value in row)
    assert [v.tzinfo for v in django_rows[0]] == [v.tzinfo for v in ours[0]]
