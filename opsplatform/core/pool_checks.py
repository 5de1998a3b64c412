"""When the connection pool checks a connection before lending it.

Django's pool (``CONN_HEALTH_CHECKS``) checks every connection on every borrow: one more round trip
to PostgreSQL per request, on a request that may itself be a single statement (a repeated alert).
A connection given back to the pool moments ago was working then; only one that sat idle longer
than ``FRESH_SECONDS`` is checked. A database restart takes longer than that, so after one every
idle connection is checked again; a connection broken within the window fails its request once
(the 503 of ``DatabaseOutageMiddleware``) and the pool discards it.
"""

from __future__ import annotations

import time
import weakref

from psycopg_pool import ConnectionPool

FRESH_SECONDS = 1.0

_returned_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def note_returned(conn) -> None:
    """The pool's ``reset`` callback: runs as a connection is given back (in a good state)."""
    _returned_at[conn] = time.monotonic()


def check_unless_fresh(conn) -> None:
    """The pool's ``check`` callback: raises (the pool then discards it) if the connection is broken."""
    returned = _returned_at.get(conn)
    if returned is not None and time.monotonic() - returned < FRESH_SECONDS:
        return
    ConnectionPool.check_connection(conn)
