"""Writes of an outbox's sender that must outlast a database outage. A sender that made requests, or
claimed rows it will not send, must tell the database before the rows' lease ends; otherwise another
sender takes the rows over and sends them again, or a message waits for the lease to end. Also what
counts as the database being unreachable, for every part that answers an outage (the API's 503s,
the ingestion's group commit)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

# A database that cannot be reached (down, restarting), as Django reports it.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 5.0
# Stop retrying this long before the lease ends, so the write never races a takeover.
LEASE_MARGIN_SECONDS = 5.0


def while_leased(write: Callable[[], object], lease_until: datetime, what: str) -> None:
    """Run ``write``, again with a doubling delay while the database is unreachable, for as long as
    ``lease_until`` leaves time; then the last error is raised. ``write`` must be safe to repeat
    (fenced by the claim token: a try that committed although its answer was lost changes nothing
    the second time)."""
    give_up_at = lease_until - timedelta(seconds=LEASE_MARGIN_SECONDS)
    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            write()
            return
        except DATABASE_UNREACHABLE as exc:
            # A fresh connection for the next try (the pool discards the broken one).
            with contextlib.suppress(DatabaseError):
                connection.close()
            if timezone.now() + timedelta(seconds=delay) >= give_up_at:
                raise
            logger.warning("database unreachable (%s); %s again in %.1f s", type(exc).__name__, what, delay)
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
