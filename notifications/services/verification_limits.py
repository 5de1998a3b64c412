"""On-call and notifications: how many verification codes may go out per hour, per person and per
organization. Each text message or call costs the organization money and reaches a number nobody has
proven yet, and deleting and re-adding a contact method escapes the per-contact resend interval; so
the codes a person (and an organization's members together) ask for are counted.

Counters live in the shared cache (Redis), one key per hour window: a fixed window may let up to
twice the limit through across its boundary, which bounds the bill well enough and costs one INCR.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

WINDOW_SECONDS = 3600


class TooManyCodes(ValidationError):
    """Over the hourly limit: nothing was sent. A page shows it as a form error; an API answers 429."""


def _take(key: str, limit: int) -> bool:
    """Count one more in ``key``'s window; False (and the count given back) when it is over ``limit``."""
    # add() is a no-op when the key exists, so the window's expiry is set once, by its first use.
    cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
    if cache.incr(key) <= limit:
        return True
    cache.decr(key)
    return False


def take_verification(*, user_id: int, organization_id: int | None) -> None:
    """Count one code for ``user_id`` (and their ``organization_id``), or raise :class:`TooManyCodes`
    without counting it."""
    window = int(time.time()) // WINDOW_SECONDS
    user_key = f"notifications:verify:user:{user_id}:{window}"
    if not _take(user_key, settings.NOTIFICATION_VERIFICATIONS_PER_USER_HOUR):
        raise TooManyCodes(
            {"address": "Too many verification codes in the last hour; try again later."}, code="throttled"
        )
    if organization_id is None:
        return
    org_key = f"notifications:verify:org:{organization_id}:{window}"
    if not _take(org_key, settings.NOTIFICATION_VERIFICATIONS_PER_ORGANIZATION_HOUR):
        cache.decr(user_key)  # not sent: it does not count against the person either
        raise TooManyCodes(
            {
                "address": "Your organization has asked for too many verification codes in the last hour; "
                "try again later."
            },
            code="throttled",
        )
