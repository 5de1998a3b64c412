"""Request counters in Redis: fixed windows for the few pages that must not be hammered (sign-in
links), and the sliding estimate of the API's throttle (``opsplatform.api.throttling``).

One counter per (scope, key, window), moved atomically so that every web process sees the same
count. A refused hit is not counted: someone who keeps trying stays refused only until the window
ends. Each check is one Lua script, so one Redis round trip (it was four: add, incr as EXISTS and
INCRBY, then a get or a decr), on every API request.
"""

import hashlib
import time

from django.core.cache import caches
from redis.commands.core import Script

# KEYS[1] the window's counter; ARGV: limit, the counter's lifetime in seconds.
# Returns 1 when counted, 0 when refused (and not counted).
_FIXED = Script(
    None,
    b"""
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if count <= tonumber(ARGV[1]) then return 1 end
redis.call('DECR', KEYS[1])
return 0
""",
)

# KEYS[1] this window's counter, KEYS[2] the previous window's; ARGV: limit, how much of this window
# has passed (0..1), the counter's lifetime in seconds. Allowed while
# previous * (1 - elapsed) + current <= limit. Returns {current, previous, allowed}; a refused
# request is not counted (``current`` then includes it, as the caller's arithmetic expects).
_SLIDING = Script(
    None,
    b"""
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
local previous = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if previous * (1 - tonumber(ARGV[2])) + current <= tonumber(ARGV[1]) then
  return {current, previous, 1}
end
redis.call('DECR', KEYS[1])
return {current, previous, 0}
""",
)


def _redis(cache, *keys: str):
    """The Redis client of Django's cache and the keys as it stores them (prefix and version), so
    these counters live where the rest of the cache does."""
    full = [cache.make_and_validate_key(key) for key in keys]
    return cache._cache.get_client(full[0], write=True), full


def _key(scope: str, ident: str, window: int) -> str:
    # Hashed: e-mail addresses and IPs never appear in Redis keys.
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{window}"


def hit(scope: str, ident: str, *, limit: int, period: int, now: float | None = None) -> bool:
    """Count one attempt; False (and not counted) when ``limit`` were already made this window."""
    window = int((time.time() if now is None else now) // period)
    client, keys = _redis(caches["default"], _key(scope, ident, window))
    return bool(_FIXED(keys, [limit, period + 1], client=client))


def sliding_hit(
    cache, key: str, previous_key: str, *, limit: int, elapsed: float, lifetime: int
) -> tuple[bool, int, int]:
    """Count one request in ``key`` against the sliding estimate with ``previous_key``; (allowed,
    this window's count including this request, the previous window's count). A refused request
    is not counted."""
    client, keys = _redis(cache, key, previous_key)
    current, previous, allowed = _SLIDING(keys, [limit, repr(elapsed), lifetime], client=client)
    return bool(allowed), int(current), int(previous)
