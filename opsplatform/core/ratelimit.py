"""Fixed-window counters in Redis for the few pages that must not be hammered (sign-in links).

One counter per (scope, key, window), moved with atomic INCR so that every web process sees the same
count. A refused hit is not counted: someone who keeps trying stays refused only until the window ends.
"""

import contextlib
import hashlib
import time

from django.core.cache import caches


def _key(scope: str, ident: str, window: int) -> str:
    # Hashed: e-mail addresses and IPs never appear in Redis keys.
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{window}"


def hit(scope: str, ident: str, *, limit: int, period: int, now: float | None = None) -> bool:
    """Count one attempt; False (and not counted) when ``limit`` were already made this window."""
    cache = caches["default"]
    window = int((time.time() if now is None else now) // period)
    key = _key(scope, ident, window)
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period + 1)
        count = 1
    if count <= limit:
        return True
    with contextlib.suppress(ValueError):
        cache.decr(key)
    return False
