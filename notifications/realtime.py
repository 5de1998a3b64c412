"""Realtime pushes for many incidents at once, sent after commit in one trip to the channel layer.

The event is the one ``incidents.events.publish_incident`` sends (kind, id, verb, status) to the same
two groups; pages re-fetch on it. Sending a batch through one ``async_to_sync`` call matters for the
beat ticks: each separate call starts an event loop and a connection (~3 ms), one per incident would
cost seconds on a burst of a thousand.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connections, transaction

from incidents.events import incident_group
from opsplatform.realtime.groups import organization_group

logger = logging.getLogger(__name__)


def incident_event(incident, verb: str) -> dict:
    return {"kind": "incident", "id": incident.pk, "verb": verb, "status": incident.status}


def publish_incidents_after_commit(items: Iterable[tuple[object, str]]) -> None:
    """Push (incident, verb) events once the surrounding transaction commits; one per incident."""
    latest = {}
    for incident, verb in items:
        latest[incident.pk] = (incident, verb)
    messages = []
    for incident, verb in latest.values():
        event = incident_event(incident, verb)
        messages.append((organization_group(incident.organization_id), event))
        messages.append((incident_group(incident.pk), event))
    if messages:
        transaction.on_commit(lambda: _send_all(messages), robust=True)


def _send_all(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send():
        await asyncio.gather(
            *(
                layer.group_send(group, {"type": "realtime.event", "event": event})
                for group, event in messages
            )
        )

    async_to_sync(send)()


def run_with_event_loop(fn: Callable, *args, **kwargs):
    """Run the synchronous ``fn`` in a worker thread hosted by an event loop that lives for the call.

    Every realtime push made while ``fn`` runs (``async_to_sync(layer.group_send)``, ours and the
    ledger's one per entry) is then scheduled on that one loop and reuses its channel-layer
    connection. Called from plain synchronous code instead, each push starts a loop, a thread and a
    Redis connection of its own: ~3 ms apiece, which on a burst of a thousand pages is seconds of
    lateness. The beat tasks run their ticks through this.

    ``fn`` runs in another thread, so it gets its own database connections (closed at the end) and
    sees only committed data: not for callers inside a transaction (tests call the ticks directly).
    """

    def body():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    async def main():
        return await sync_to_async(body, thread_sensitive=False)()

    return asyncio.run(main())
