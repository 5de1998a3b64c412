"""Request rate limits shared by every API process, counted in Redis.

DRF's stock throttle keeps a list of timestamps and writes it back with get/set: two processes
serving the same token at once both read the old list and one increment is lost. Here each window
is one Redis counter moved with atomic INCR, and the limit is checked against a sliding estimate
(the previous window's count, weighted by how much of it still overlaps, plus the current count),
which stops the double burst a plain fixed window allows at its edge. The estimate is conservative:
for small rates ``Retry-After`` can run past one period while a full window fades out.
"""

import contextlib
import math

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from opsplatform.accounts.models import ApiToken


class PerTokenRateThrottle(SimpleRateThrottle):
    """``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"]`` per token, signed-in user or client IP.

    Subclass with another ``scope`` (and a rate under that key) for endpoints that need their own.
    """

    scope = "token"
    cache = caches["default"]

    def get_rate(self):
        # Read when the throttle is built, not when the module was imported, so configuration
        # (and tests' override_settings) apply.
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def get_cache_key(self, request, view):
        auth = getattr(request, "auth", None)
        user = getattr(request, "user", None)
        if isinstance(auth, ApiToken):
            ident = f"token-{auth.pk}"
        elif user is not None and user.is_authenticated:
            ident = f"user-{user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window, offset = divmod(now, self.duration)
        elapsed = offset / self.duration
        current_key = f"{key}:{int(window)}"
        current = self._increment(current_key)
        previous = self.cache.get(f"{key}:{int(window) - 1}", 0)
        if previous * (1 - elapsed) + current <= self.num_requests:
            return True
        # A refused request does not count against the caller.
        with contextlib.suppress(ValueError):
            self.cache.decr(current_key)
        self._wait = self._seconds_until_allowed(previous, current - 1, elapsed)
        return False

    def _increment(self, key: str) -> int:
        # The counter outlives its window by one more, for the next window's estimate.
        self.cache.add(key, 0, timeout=self.duration * 2 + 1)
        try:
            return self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.set(key, 1, timeout=self.duration * 2 + 1)
            return 1

    def _seconds_until_allowed(self, previous: int, current: int, elapsed: float) -> float:
        limit = max(self.num_requests, 1)
        if current + 1 <= limit:
            # Room in this window once enough of the previous one has slid out.
            needed = 1 - (limit - current - 1) / previous if previous else elapsed
            return max((needed - elapsed) * self.duration, 1)
        # This window is full: wait for the next, and for this window's weight to fade enough there.
        needed_next = max(1 - (limit - 1) / current, 0) if current else 0
        return max(math.ceil(((1 - elapsed) + needed_next) * self.duration), 1)

    def wait(self):
        return getattr(self, "_wait", None)
