"""Channels group names and after-commit publishing: the realtime base later pages subscribe to.

Pushes carry small events only (kind, ids); pages re-fetch what they show, so permissions are
checked on every fetch and a push can never leak data the viewer may not see.
"""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


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

    def send():
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(person_group(user_id), message)

    # robust: like every push, a Redis hiccup must not fail the committed change.
    transaction.on_commit(send, robust=True)


def _send(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": "realtime.event", "event": event})


def publish_after_commit(group: str, event: dict) -> None:
    """Send ``event`` to ``group`` once the surrounding transaction commits (never before)."""
    # robust: a Redis hiccup must not turn an already-committed change into an error response.
    transaction.on_commit(lambda: _send(group, event), robust=True)


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


def publish_many_after_commit(messages: list[tuple[str, dict]]) -> None:
    """Send each ``(group, event)`` once the transaction commits, in one trip to the channel layer.

    One ``async_to_sync`` call for the lot matters for batch jobs: each separate call starts an event
    loop and a connection (~3 ms), so one per incident would cost seconds on a burst of a thousand.
    """
    if messages:
        transaction.on_commit(lambda: _send_all(messages), robust=True)
