"""Freezing, once, what a web process builds on its first requests.

``opsplatform.asgi`` takes what exists after start-up out of the cyclic collector's sight
(``gc.freeze``). The first requests still build tens of thousands of objects that live as long as
the process: views and modules imported on first use, URL resolver and statement caches,
connections. Measured in a storm, a web process's full collections then walked 58,000-100,000
objects and held the interpreter for 50-290 ms each, several times a minute, while every request
of the process waited: at full speed, most of the single events' p99. Freezing again once the
process has served its first ``FREEZE_AFTER_REQUESTS`` requests leaves the full collections the
objects of the moment. Cyclic garbage frozen with them (a few hundred objects) is never freed: a
one-time cost.
"""

from __future__ import annotations

import gc
import threading

FREEZE_AFTER_REQUESTS = 1000


class FreezeAfter:
    """Called once per request served; freezes on the ``requests``-th call, and never again."""

    def __init__(self, requests: int):
        self.left = requests
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        if self.left <= 0:  # the common case: no lock
            return False
        with self._lock:
            self.left -= 1
            if self.left:
                return False
        gc.freeze()
        return True


# One per process: the ingestion and the API handlers count together.
request_served = FreezeAfter(FREEZE_AFTER_REQUESTS)
