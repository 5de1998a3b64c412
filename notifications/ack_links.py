"""On-call and notifications: the one-click acknowledge links that notifications carry.

A link is signed (Django's TimestampSigner under SECRET_KEY, its own salt) and expires after
``ACK_LINK_MAX_AGE``. It opens a confirmation page; only that page's POST acknowledges, so a mail
scanner that follows links acknowledges nothing (see ``views.ack``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

ACK_SALT = "notifications.ack-link"


@dataclass(frozen=True)
class AckClaim:
    incident_id: int
    user_id: int | None  # None: a link sent to a channel; the person clicking must sign in
    notification_id: int


def ack_token(*, incident_id: int, user_id: int | None, notification_id: int) -> str:
    return signing.dumps({"i": incident_id, "u": user_id, "n": notification_id}, salt=ACK_SALT, compress=True)


def read_ack_token(token: str) -> AckClaim | None:
    """The claim of a valid, unexpired link, or None (forged, altered and expired look the same)."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=settings.ACK_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    try:
        return AckClaim(int(data["i"]), int(data["u"]) if data.get("u") is not None else None, int(data["n"]))
    except (KeyError, TypeError, ValueError):
        return None
