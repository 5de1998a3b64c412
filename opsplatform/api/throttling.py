"""Request rate limits shared by every API process, counted in Redis.

DRF's stock throttle keeps a list of timestamps and writes it back with get/set: two processes
serving the same token at once both read the old list and one increment is lost. Here each window
is one Redis counter moved atomically, and the limit is checked against a sliding estimate (the
previous window's count, weighted by how much of it still overlaps, plus the current count), which
stops the double burst a plain fixed window allows at its edge; count, estimate and the refusal's
take-back are one script, one round trip (``opsplatform.core.ratelimit.sliding_hit``). The
estimate is conservative: for small rates ``Retry-After`` can run past one period while a full
window fades out.
"""

import math

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from opsplatform.accounts.models import ApiToken
from opsplatform.core import ratelimit


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
        # One round trip: count, read the previous window, and take a refused request back.
        allowed, current, previous = ratelimit.sliding_hit(
            self.cache,
            f"{key}:{int(window)}",
            f"{key}:{int(window) - 1}",
            limit=self.num_requests,
            elapsed=elapsed,
            # The counter outlives its window by one more, for the next window's estimate.
            lifetime=self.duration * 2 + 1,
        )
        if allowed:
            return True
        self._wait = self._seconds_until_allowed(previous, current - 1, elapsed)
        return False

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
