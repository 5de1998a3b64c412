"""Sealing staged ledger entries into their organization's chain.

Hot writers stage entries in their own transactions without the chain's lock (``audit.services``).
After each such commit, the process's sealer thread is asked to seal that organization: it gathers
requests for a few milliseconds, then takes each chain's lock once for every entry staged meanwhile
(``audit_ledger_seal``, migration 0007), in one statement of its own. Nothing waits for it: the
writer has already answered. Nor does it wait for the chain: if another process's sealer (or a
change appending inline) holds it, the sealer comes back ``BUSY_SECONDS`` later
(``audit_ledger_try_seal``, migration 0008). A beat sweep (``audit.seal_pending``) seals what a
process left behind when it died between its commit and its seal.

The sealer pushes the sealed entries to live pages, as an inline append does after its commit.
"""

import functools
import logging
import os
import threading
import time

import psycopg
from django.db import close_old_connections, connection

from audit.chain import CHAIN_LOCK_NAMESPACE, pushed
from audit.hashing import GENESIS_HASH
from audit.models import LedgerEntry
from opsplatform.realtime.groups import publish_many_after_commit

logger = logging.getLogger(__name__)

_SEAL_SQL = (
    "SELECT out_id, out_sequence, out_verb, out_target_type, out_target_id"
    " FROM audit_ledger_seal(%s, %s, %s, %s)"
)
# The same without waiting for the chain (migration 0008): one row of NULLs when it is held.
_TRY_SEAL_SQL = (
    "SELECT out_id, out_sequence, out_verb, out_target_type, out_target_id"
    " FROM audit_ledger_try_seal(%s, %s, %s, %s)"
)
# Entries per seal transaction: bounds how long one seal holds the chain.
SEAL_BATCH = 1000
# How long a woken sealer waits for more commits to join its seal.
GATHER_SECONDS = 0.02
# After a failed seal (the database away), before the sealer tries again.
RETRY_SECONDS = 1.0
# After finding a chain held (by another process's sealer, or a change appending inline), before the
# sealer looks again: the holder seals what was staged before it began, the rest is left for then.
BUSY_SECONDS = 0.05


def seal(organization_id: int | None, *, wait: bool = True) -> int | None:
    """Seal every entry of the chain staged before the call; how many were sealed. Without
    ``wait``, None once it finds the chain's lock held (entries may be left to seal)."""
    total = 0
    while True:
        # One statement, in autocommit outside a transaction: the chain's lock is held for that
        # statement alone, not until this thread gets round to sending COMMIT.
        connection.ensure_connection()
        params = [CHAIN_LOCK_NAMESPACE, organization_id, GENESIS_HASH, SEAL_BATCH]
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_SEAL_SQL if wait else _TRY_SEAL_SQL, params, prepare=True)
            rows = cursor.fetchall()
        if rows and rows[0][0] is None:
            return None  # held: whatever is left is for the next call
        if organization_id is not None and rows:
            publish_many_after_commit(
                [
                    pushed(organization_id, pk=pk, sequence=seq, verb=verb, target_type=ttype, target_id=tid)
                    for pk, seq, verb, ttype, tid in rows
                ]
            )
        total += len(rows)
        if len(rows) < SEAL_BATCH:
            return total


def staged_chains() -> list[int | None]:
    """The organizations (None: the platform chain) with entries waiting for their seal."""
    return list(
        LedgerEntry.all_entries.filter(sequence__isnull=True)
        .values_list("organization_id", flat=True)
        .order_by("organization_id")
        .distinct()
    )


def seal_pending() -> int:
    """Seal every chain with staged entries (the beat sweep); a chain that fails does not keep the
    others waiting."""
    sealed = 0
    for organization_id in staged_chains():
        try:
            sealed += seal(organization_id)
        except Exception:
            logger.exception("sealing the ledger chain of organization %s failed", organization_id)
    return sealed


class Sealer:
    """One thread per process that seals the chains its commits staged entries on."""

    def __init__(self):
        self._wanted: set[int | None] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def request(self, organization_id: int | None) -> None:
        with self._cond:
            self._wanted.add(organization_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ledger-sealer", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _take(self) -> set[int | None]:
        with self._cond:
            while not self._wanted:
                self._cond.wait()
        time.sleep(GATHER_SECONDS)
        with self._cond:
            wanted, self._wanted = self._wanted, set()
        return wanted

    def _run(self) -> None:
        while True:
            wanted = self._take()
            failed, busy = set(), set()
            for organization_id in sorted(wanted, key=lambda org: -1 if org is None else org):
                try:
                    # Never waits for the chain: a waiting sealer holds a connection of its
                    # process's pool, and the holder is sealing most of the same entries anyway.
                    if seal(organization_id, wait=False) is None:
                        busy.add(organization_id)
                except Exception:  # the database away: keep the chain for the next round
                    logger.exception("sealing the ledger chain of organization %s failed", organization_id)
                    failed.add(organization_id)
                finally:
                    close_old_connections()
            if failed or busy:
                time.sleep(RETRY_SECONDS if failed else BUSY_SECONDS)
                with self._cond:
                    self._wanted |= failed | busy


@functools.cache
def sealer() -> Sealer:
    """This process's sealer, made on first use."""
    return Sealer()


# A forked child (a Celery pool process) has none of its parent's threads: it makes a sealer of
# its own on first use.
os.register_at_fork(after_in_child=sealer.cache_clear)
