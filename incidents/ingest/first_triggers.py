"""First triggers of a key that this process is writing right now.

A storm repeats a new alert before its first trigger has committed: the repeat finds no firing
alert, so it cannot be a one-statement repeat (``group_commit``) and would take the full path,
where it waits on the first trigger's new incident row and then holds that row for a whole
transaction of its own; the repeats behind it queue on the row one full transaction at a time.
Instead a single event whose key this process is writing waits for that write to end, then tries the
one-statement repeat again. Only the first trigger per key and process takes the full path; a repeat
still answers only after its own commit.
"""

from __future__ import annotations

import contextlib
import threading

from django.db import connection

# However long the first trigger takes, a repeat then goes its own way (the full path waits on the
# incident's row lock anyway).
WAIT_SECONDS = 5.0

_writing: dict[tuple[int, str], threading.Event] = {}
_lock = threading.Lock()


def wait_for_writer(organization_id: int, dedup_key: str) -> bool:
    """If this process is writing a first trigger of the key, wait until it ends; whether it was."""
    if connection.in_atomic_block:
        return False  # the caller's transaction may hold what the writer needs
    with _lock:
        done = _writing.get((organization_id, dedup_key))
    if done is None:
        return False
    # Waiting holds no pooled connection: the writer may need one to finish.
    if connection.pool is not None:
        connection.close()
    done.wait(WAIT_SECONDS)
    return True


@contextlib.contextmanager
def writing(organization_id: int, dedup_key: str):
    """Mark the key as being written by this request until the block ends (committed or not)."""
    key = (organization_id, dedup_key)
    done = threading.Event()
    with _lock:
        mine = key not in _writing
        if mine:
            _writing[key] = done
    try:
        yield
    finally:
        if mine:
            with _lock:
                del _writing[key]
            done.set()
