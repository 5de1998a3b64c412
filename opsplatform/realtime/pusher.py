"""Sending pushes to the channel layer without making the committing thread wait for them.

Every push happens after a commit, and nothing that committed depends on it: pages only re-fetch.
Yet sending one from synchronous code (``async_to_sync``) blocks the thread until Redis answered,
and, outside an event loop, starts a loop and opens connections for that one trip. Measured in a
storm, a delivery tick's thread spent a fifth of its time waiting on its pushes, time in which it
claimed and recorded no page.

So each process has one event loop, in a daemon thread of its own, that sends every push: a caller
hands its messages over and goes on. The loop keeps the channel layer's connections pooled for the
life of the process. Trips (what one caller hands over at once) are sent one after another, in the
order they were handed over; a trip's messages are sent concurrently, as before, to the groups that
have anyone listening (``listeners``), asked once for all the trips that waited meanwhile. If the
channel layer stops answering, at most ``MAX_PENDING`` messages wait; later ones are dropped and
logged rather than pile up in memory.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import os
import queue
import threading
import time

from channels.layers import get_channel_layer

from opsplatform.realtime.listeners import listened

logger = logging.getLogger(__name__)

# Sends of one trip in flight at once: each holds a connection of the layer's pool for the loop,
# which refuses a 101st ("Too many connections") and a batch's trip carries hundreds.
SENDS_AT_ONCE = 16
# Trips waiting together are asked about in one question (``listeners``): while the loop waits for the
# interpreter behind busy request threads, the commits of a storm hand over trips faster than one
# round trip each could be made (the Redis client's Python is most of that trip's cost).
TRIPS_AT_ONCE = 64
MAX_PENDING = 20_000
# At exit, how long the process waits for pushes still on their way.
EXIT_WAIT_SECONDS = 2.0


class Pusher:
    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._trips: queue.SimpleQueue = queue.SimpleQueue()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._pending = 0
        self._dropped = 0

    @property
    def pending(self) -> int:
        return self._pending

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._wakeup = asyncio.Event()  # one per loop: an event is bound to the loop it waits in
                threading.Thread(target=loop.run_forever, name="realtime-pusher", daemon=True).start()
                asyncio.run_coroutine_threadsafe(self._worker(), loop)
                self._loop = loop
            return self._loop

    def send(self, messages: list[tuple[str, dict]]) -> None:
        """Hand ``(group, message)`` pairs over to the process's loop; returns at once."""
        if not messages:
            return
        with self._lock:
            if self._pending + len(messages) > MAX_PENDING:
                self._dropped += len(messages)
                dropped = self._dropped
            else:
                self._pending += len(messages)
                dropped = 0
        if dropped:
            # The first drop, then one line per thousand: an outage must not flood the log.
            if dropped == len(messages) or dropped // 1000 != (dropped - len(messages)) // 1000:
                logger.warning("realtime pushes not answered; %d dropped so far", dropped)
            return
        self._trips.put(messages)
        self._running_loop().call_soon_threadsafe(self._wakeup.set)

    async def _worker(self) -> None:
        self._task = asyncio.current_task()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()  # before draining: a trip put after the drain sets it again
            while trips := self._drain():
                await self._send(trips)

    def _drain(self) -> list[list[tuple[str, dict]]]:
        """The trips waiting, oldest first (at most ``TRIPS_AT_ONCE``)."""
        trips = []
        while len(trips) < TRIPS_AT_ONCE:
            try:
                trips.append(self._trips.get_nowait())
            except queue.Empty:
                break
        return trips

    async def _send(self, trips: list[list[tuple[str, dict]]]) -> None:
        """Send the trips that waited together: one question for all their groups, then each trip's
        messages, one trip after another."""
        count = sum(len(messages) for messages in trips)
        try:
            layer = get_channel_layer()
            if layer is None:
                return
            heard = await listened(layer, {group for messages in trips for group, _ in messages})
            slots = asyncio.Semaphore(SENDS_AT_ONCE)

            async def one(group, message):
                async with slots:
                    await layer.group_send(group, message)

            for messages in trips:
                outcomes = await asyncio.gather(
                    *(one(g, m) for g, m in messages if g in heard), return_exceptions=True
                )
                failed = [o for o in outcomes if isinstance(o, BaseException)]
                if failed:
                    logger.warning(
                        "%d of %d realtime pushes failed: %r", len(failed), len(outcomes), failed[0]
                    )
        except Exception as exc:  # the layer could not be asked: the trips are lost, the loop goes on
            logger.warning("%d realtime pushes failed: %r", count, exc)
        finally:
            with self._lock:
                self._pending -= count

    def wait(self, timeout: float) -> bool:
        """Wait until every push handed over so far has been sent (or failed); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._pending

    def close(self, timeout: float) -> None:
        """Wait for what is on its way (at most ``timeout``), then end the sending task, so that it
        is not left pending for the exiting interpreter to destroy (and complain about)."""
        self.wait(timeout)
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._end_worker(), loop).result(timeout=1)

    async def _end_worker(self) -> None:
        if self._task is None:  # closed before the sending task first ran
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@functools.cache
def pusher() -> Pusher:
    """This process's pusher, made on first use."""
    return Pusher()


def _close_at_exit() -> None:
    if pusher.cache_info().currsize:
        pusher().close(EXIT_WAIT_SECONDS)


atexit.register(_close_at_exit)
# A forked child (a Celery pool process) has none of its parent's threads: it makes its own.
os.register_at_fork(after_in_child=pusher.cache_clear)
