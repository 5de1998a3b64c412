"""How every process tunes psycopg under Django, once its apps are ready (``CoreConfig.ready``):
two costs of the driver's Python side that a storm pays on every request or page."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.backends.signals import connection_created
from psycopg import postgres
from psycopg.pq import Format

# psycopg keeps the parsed form of a statement (where its placeholders are) only when it has at
# most 50 parameters; any other is parsed afresh on every call, a regular-expression pass over its
# whole text. A batch's new incidents and alerts are written with one INSERT of many rows (five
# incidents' upsert has 205 parameters), and parsing the two was about a tenth of an Alertmanager
# batch's CPU (tests/bench/test_insert_statement_cost.py). Statements longer than psycopg's own
# length limit (4 kB) stay uncached, so the cache's memory stays bounded as psycopg meant it; the
# many-row inserts that would be longer are written with one array a column instead
# (``opsplatform.core.prepared.insert_statement``).
WIDE_STATEMENT_PARAMS = 1000

TIMESTAMPTZ_OID = postgres.types["timestamptz"].oid
# psycopg's own loaders: compiled when its binary package is installed (requirements/base.txt).
_TIMESTAMPTZ_LOADER = postgres.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
_TEXT_LOADER = postgres.adapters.get_loader(postgres.types["text"].oid, Format.TEXT)


def tune() -> None:
    cache_wide_statements()
    connection_created.connect(use_compiled_loaders, dispatch_uid="opsplatform.core.driver")


def cache_wide_statements() -> None:
    """Let psycopg keep the parsed form of statements of up to ``WIDE_STATEMENT_PARAMS`` parameters
    (see above)."""
    from psycopg import _queries  # the limit is a module constant, read on every call

    if getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", WIDE_STATEMENT_PARAMS) < WIDE_STATEMENT_PARAMS:
        _queries.MAX_CACHED_STATEMENT_PARAMS = WIDE_STATEMENT_PARAMS


class UtcTimestamptzLoader:
    """psycopg's own ``timestamptz`` loader, registered where Django looks for its own.

    Django loads every ``timestamptz`` through a Python subclass of psycopg's loader that then sets
    the value's zone to the connection's: ~3.6 µs a value, against ~0.4 µs for psycopg's compiled
    loader (tests/bench/test_time_loader_cost.py), which already returns times in the session's
    zone. A delivery tick reads some 18 times a page. Where the session's zone and Django's are both
    UTC the two give identical values (the same ``datetime.timezone.utc``). Django reads
    ``timezone`` from the registered class to decide whether a cursor needs a loader of its own
    (e.g. with ``USE_TZ`` off), and the compiled class takes neither an attribute nor a subclass:
    so this class carries the attribute, and what it builds is the compiled loader."""

    format = Format.TEXT
    timezone = datetime.UTC

    def __new__(cls, oid, context=None):
        return _TIMESTAMPTZ_LOADER(oid, context)


def use_compiled_loaders(sender, connection, **kwargs) -> None:
    """On each new (or pooled, checked out) PostgreSQL connection: psycopg's loaders for
    ``timestamptz`` (when both zones are UTC, see ``UtcTimestamptzLoader``) and for ``jsonb`` (Django
    reads it as text through psycopg's Python text loader, and decodes the JSON itself)."""
    if connection.vendor != "postgresql" or not settings.USE_TZ or connection.timezone != datetime.UTC:
        return
    adapters = connection.connection.adapters
    if adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is UtcTimestamptzLoader:
        return
    if connection.connection.info.parameter_status("TimeZone") != "UTC":
        return
    adapters.register_loader("timestamptz", UtcTimestamptzLoader)
    adapters.register_loader("jsonb", _TEXT_LOADER)
