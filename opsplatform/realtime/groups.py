"""Channels group names and after-commit publishing: the realtime base later pages subscribe to.

Pushes carry small events only (kind, ids); pages re-fetch what they show, so permissions are
checked on every fetch and a push can never leak data the viewer may not see.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def organization_group(organization_id) -> str:
    return f"org.{organization_id}"


def object_group(kind: str, object_id) -> str:
    return f"{kind}.{object_id}"


def _send(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": "realtime.event", "event": event})


def publish_after_commit(group: str, event: dict) -> None:
    """Send ``event`` to ``group`` once the surrounding transaction commits (never before)."""
    # robust: a Redis hiccup must not turn an already-committed change into an error response.
    transaction.on_commit(lambda: _send(group, event), robust=True)
