"""Statements kept prepared on the database connection, for the few that run on every request of a
hot path (alert ingestion, the ledger append, the SLA policy of a new incident), and the full-row
reads and inserts those hand-written statements build from model metadata.

Django's cursors bind parameters on the client, so PostgreSQL parses and plans each statement every
time; for short statements that is most of their cost. These go through psycopg's server-side
binding cursor, prepared once per (pooled) connection: ``fetchone_prepared`` at once, a
``bound_cursor``'s statements after five runs on the connection (``prepare_threshold`` in the
database options; settings: ``DB_PREPARED_STATEMENTS``; without it they run unprepared, same results).

A prepared statement may be run on one generic plan, made once for any values: a statement here is
written so that its best plan does not depend on them (lookups by key, never a join the planner
might turn into a scan of a table, as ``incidents.ingest.sql.ACTIVE_ALERTS`` once let it).
"""

from __future__ import annotations

import datetime
import re
import uuid
from functools import lru_cache

import psycopg
from django.conf import settings
from django.db import connection, models
from django.db.models import AutoField, BigAutoField
from psycopg import _queries


def fetchone_prepared(sql: str, params) -> tuple | None:
    """Run ``sql`` (``%s`` or ``%(name)s`` placeholders) prepared; its first row. Database errors
    arrive as Django's."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone() if cursor.description else None


# PostgreSQL's protocol carries at most this many parameters with a statement.
MAX_BOUND_PARAMETERS = 65535


def bound_cursor(params=()):
    """A cursor of this thread's connection that binds ``params`` on the server, for the hand-written
    many-row statements of a hot path (``with bound_cursor(params) as cursor``).

    Django's cursors quote every parameter into the statement's text in Python; a new incident's
    full-row inserts and an Alertmanager batch's reads carry hundreds of values, and quoting them was
    about a twentieth of a batch's CPU in the web process (docs/benchmarks.md). psycopg's own cursor
    sends them apart, dumped in C. Wrapped as Django wraps its cursors: execute wrappers, database
    errors as Django's, ``DEBUG``'s query log (where the statement shows ``$n`` for its values). A
    statement with more parameters than the protocol carries is bound on the client, as Django
    would: a guard for the statements callers write (the many-row inserts here stay far below it,
    sending many rows as one array a column: ``insert_statement``)."""
    if len(params) > MAX_BOUND_PARAMETERS:
        return connection.cursor()
    # As Django's own cursor() begins: a connection that fails its health check (CONN_HEALTH_CHECKS,
    # without the pool) is replaced before the request's first statement, not used and failed.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    cursor = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def model_from_row(model, values):
    """An instance of ``model`` from a row holding its concrete fields in declaration order, through
    the fields' own database converters, as the ORM would build it."""
    attnames, converters = _row_plan(model, connection.vendor)
    if len(values) != len(attnames):
        raise ValueError(f"{model.__name__}: {len(values)} values for {len(attnames)} fields")
    if converters:
        values = list(values)
        for index, field, field_converters in converters:
            value = values[index]
            for converter in field_converters:
                value = converter(value, field, connection)
            values[index] = value
    return model.from_db(connection.alias, attnames, values)


@lru_cache(maxsize=256)
def _row_plan(model, vendor: str) -> tuple[list[str], list[tuple]]:
    """The attribute names of ``model``'s concrete fields, and the fields that have database
    converters, with theirs: asked once per model, not per value (a claim builds thousands of rows
    a second during a storm, and most fields have none)."""
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        found = field.get_db_converters(connection)
        if found:
            converters.append((index, field, tuple(found)))
    return [f.attname for f in fields], converters


def select_columns(model, alias: str) -> str:
    """``alias."col", …`` for every concrete field of ``model``, in the order ``model_from_row`` reads."""
    return ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in model._meta.concrete_fields)


def insert_fields(model) -> list:
    return [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, AutoField | BigAutoField))
    ]


@lru_cache(maxsize=256)
def insert_sql(model, suffix: str, rows: int = 1) -> str:
    """``INSERT INTO <table> (<every column>) VALUES (…)[, (…)…] <suffix>`` for ``rows`` full rows of
    ``model`` (their parameters: ``insert_params`` of each, concatenated in row order)."""
    fields = insert_fields(model)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = ", ".join([row] * rows)
    # Identifiers come from the model's metadata and values are parameters: nothing from a request.
    return f"INSERT INTO {model._meta.db_table} ({columns}) VALUES {values} {suffix}"  # noqa: S608


_TYPMOD = re.compile(r"\s*\([^)]*\)")
# The longest statement text psycopg keeps converted (a constant of its own module; 4 KB today).
CACHED_STATEMENT_LENGTH = getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", 4096)


@lru_cache(maxsize=256)
def unnest_insert_sql(model, suffix: str) -> str | None:
    """``INSERT INTO <table> (<every column>) SELECT * FROM unnest(<one array a column>) <suffix>``:
    any number of rows of ``model`` in a statement whose text never changes, or None where a column
    cannot travel in an array (a PostgreSQL array column: unnest would take it apart).

    Why, for many rows: psycopg turns ``%s`` into ``$n`` with a regular expression, about a
    microsecond a placeholder, and remembers the result only for statements under 4 KB; past that
    (a burst's escalation outbox rows, a notification of many new alerts) ``insert_sql``'s text was
    parsed again on every statement, ~2 ms for 60 outbox rows, and PostgreSQL parsed and planned a
    thousand parameters each time. This text is converted once and can be prepared."""
    fields = insert_fields(model)
    casts = []
    for field in fields:
        db_type = field.db_type(connection)
        if not db_type or db_type.endswith("]"):
            return None
        # Without the length: a cast to varchar(n) cuts a longer value short where storing it in
        # the column refuses it (an over-long value must fail its row, not lose its end).
        casts.append(f"%s::{_TYPMOD.sub('', db_type)}[]")
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # Identifiers and types come from the model's metadata; values are parameters.
    return (
        f"INSERT INTO {model._meta.db_table} ({columns})"  # noqa: S608
        f" SELECT * FROM unnest({', '.join(casts)}) {suffix}"
    )


def insert_statement(model, rows: list, suffix: str = "") -> tuple[str, list]:
    """The statement inserting ``rows`` (instances of ``model``) and its parameters: a row of
    placeholders a row (``insert_sql``) while its text fits psycopg's cache of converted statements,
    one array a column (``unnest_insert_sql``) past it. Small statements are cheaper as rows (an
    array a column costs its dumping: five outbox rows took twice the CPU), large ones as arrays
    (sixty took half; ``tests/bench/test_unnest_insert_cost.py``). Rows come back from ``RETURNING``
    in no promised order: key them."""
    arrays = unnest_insert_sql(model, suffix)
    if arrays is None or _values_length(model, suffix, len(rows)) <= CACHED_STATEMENT_LENGTH:
        return insert_sql(model, suffix, rows=len(rows)), [v for row in rows for v in insert_params(row)]
    return arrays, [list(column) for column in zip(*(insert_params(row) for row in rows), strict=True)]


def _values_length(model, suffix: str, rows: int) -> int:
    """The length of ``insert_sql(model, suffix, rows)``'s text, without writing it."""
    one, two = len(insert_sql(model, suffix, 1)), len(insert_sql(model, suffix, 2))
    return one + (two - one) * (rows - 1)


def insert_rows(model, rows: list, suffix: str = "", *, per_statement: int = 500) -> None:
    """``rows`` (instances of ``model``) inserted by ``insert_statement``, ``per_statement`` to a
    statement, their values bound on the server."""
    for start in range(0, len(rows), per_statement):
        statement, params = insert_statement(model, rows[start : start + per_statement], suffix)
        with bound_cursor(params) as cursor:
            cursor.execute(statement, params)


def insert_params(obj) -> list:
    """The values of ``insert_sql``'s row for ``obj``, as the ORM would save them.

    A value already of the type its column takes skips the field's preparation (``_insert_plan``:
    it would return the value, or wrap an integer in its psycopg type, and nothing else); any other
    value goes through it. Preparing every value was a fifth of an Alertmanager batch's CPU, and a
    new incident's or alert's values are nearly all of that kind."""
    params = []
    for field, attname, test, wrap in _insert_plan(type(obj), connection.vendor):
        if test is not None:
            value = getattr(obj, attname)
            if test(value):
                params.append(value if wrap is None or value is None else wrap(value))
                continue
        params.append(field.get_db_prep_save(field.pre_save(obj, add=True), connection))
    return params


def _of(*kinds):
    return lambda value: type(value) in kinds


def _aware(value) -> bool:
    return type(value) is datetime.datetime and value.tzinfo is not None


# Field classes (exactly these, not subclasses) whose preparation for saving, on PostgreSQL with
# psycopg 3, returns a value of these types as it is (Django's own code for them does nothing else).
_AS_IS = {
    models.CharField: _of(str),
    models.TextField: _of(str),
    models.SlugField: _of(str),
    models.BooleanField: _of(bool),
    models.UUIDField: _of(uuid.UUID),
}
# ... and these wrap an int in the psycopg type of their column (Int2, Int4, Int8), as Django does.
_INTEGERS = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)
_INTEGER_KEYS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


def _shortcut(field) -> tuple:
    """(a test for the values ``field`` saves without its preparation, how to wrap them), or
    (None, None): every value is prepared."""
    kind, wrap = type(field), None
    if kind is models.ForeignKey and type(field.target_field) in _INTEGER_KEYS:
        test = _of(int)
    elif kind is models.DateTimeField and not (field.auto_now or field.auto_now_add) and settings.USE_TZ:
        test = _aware  # a naive one is converted (with a warning) by the field
    elif kind in _INTEGERS:
        test, wrap = _of(int), connection.ops.integerfield_type_map[field.get_internal_type()]
    else:
        test = _AS_IS.get(kind)
    if test is None:
        return None, None
    if field.null:
        return (lambda value: value is None or test(value)), wrap
    # None for a NOT NULL column: the field's own preparation says what is wrong with it.
    return test, wrap


@lru_cache(maxsize=256)
def _insert_plan(model, vendor: str) -> list[tuple]:
    plan = []
    for field in insert_fields(model):
        test, wrap = _shortcut(field) if vendor == "postgresql" else (None, None)
        plan.append((field, field.attname, test, wrap))
    return plan


def fetchall_prepared(sql: str, params) -> list[tuple]:
    """``fetchone_prepared`` for a statement whose every row is wanted."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description else []
