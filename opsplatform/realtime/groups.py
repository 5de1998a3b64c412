"""Channels group names and after-commit publishing: the realtime base later pages subscribe to.

Pushes carry small events only (kind, ids); pages re-fetch what they show, so permissions are
checked on every fetch and a push can never leak data the viewer may not see.
"""

import contextlib
import contextvars

from django.db import transaction

from opsplatform.realtime.pusher import pusher


def organization_group(organization_id) -> str:
    return f"org.{organization_id}"


def object_group(kind: str, object_id) -> str:
    return f"{kind}.{object_id}"


def person_group(user_id) -> str:
    """Every socket of one person joins it, whatever it listens to: the way to reach them all."""
    return f"access.user.{user_id}"


def recheck_access_after_commit(user_id) -> None:
    """Once the transaction commits, make every socket of the person re-check its access (and close
    if it is gone): after a removal, a role change, a deactivation, a logout or a new password.

    Sockets check at connect; without this, a removed member would keep hearing their old
    organization for as long as the browser tab stays open.
    """
    message = {"type": "realtime.recheck"}

    # robust: like every push, a Redis hiccup must not fail the committed change.
    transaction.on_commit(lambda: pusher().send([(person_group(user_id), message)]), robust=True)


def _send(group: str, event: dict) -> None:
    _send_all([(group, event)])


# The pushes gathered by ``one_trip`` (a list per block), or None outside one.
_gathered: contextvars.ContextVar[list | None] = contextvars.ContextVar("realtime_gathered", default=None)


def publish_after_commit(group: str, event: dict) -> None:
    """Send ``event`` to ``group`` once the surrounding transaction commits (never before)."""
    gathered = _gathered.get()
    if gathered is not None:
        _gather_after_commit(gathered, [(group, event)])
        return
    # robust: a Redis hiccup must not turn an already-committed change into an error response.
    transaction.on_commit(lambda: _send(group, event), robust=True)


def _send_all(messages: list[tuple[str, dict]]) -> None:
    # Handed to the process's pusher: the committing thread does not wait for Redis.
    pusher().send([(group, {"type": "realtime.event", "event": event}) for group, event in messages])


def publish_many_after_commit(messages: list[tuple[str, dict]]) -> None:
    """Send each ``(group, event)`` once the transaction commits, in one trip to the channel layer.

    One hand-over for the lot: the pusher sends a trip's messages concurrently.
    """
    gathered = _gathered.get()
    if messages and gathered is not None:
        _gather_after_commit(gathered, messages)
    elif messages:
        transaction.on_commit(lambda: _send_all(messages), robust=True)


def _gather_after_commit(gathered: list, messages: list[tuple[str, dict]]) -> None:
    # Still an on-commit callback of its own: a savepoint that rolls back drops it, as any push.
    transaction.on_commit(lambda: gathered.extend(messages), robust=True)


@contextlib.contextmanager
def one_trip():
    """Inside the block, every push registered for after commit (the ledger's, the incidents',
    anyone's through this module) goes out with the others in one trip to the channel layer once
    the transaction commits, instead of a hand-over each.

    For a batch job that runs many services in one transaction: enter it inside that
    ``transaction.atomic()``. Pushes of savepoints that rolled back are dropped, as always.
    """
    if _gathered.get() is not None:  # already inside one: its trip carries these too
        yield
        return
    gathered: list[tuple[str, dict]] = []
    token = _gathered.set(gathered)
    try:
        yield
    finally:
        _gathered.reset(token)
        # Registered after every push of the block, so it runs after they joined the list.
        transaction.on_commit(lambda: _send_all(gathered) if gathered else None, robust=True)
