"""One event loop for a synchronous batch job, so its realtime pushes share a connection."""

import asyncio
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.db import connections


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
