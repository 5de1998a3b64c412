"""A process-local cache of the lookups ingestion makes (integration keys, and the SLA policy of a new
incident), invalidated across processes on every change.

In an alert storm the same few keys arrive hundreds of times a second, and each lookup is a round
trip to PostgreSQL for an answer that changes perhaps once a month. Each web process keeps the
answers it loaded, tagged with the *generation* they were loaded at: a counter in Redis that every
committed change of what a lookup returns (an integration, its key, rules, service or organization,
a maintenance window) moves on. A process reads the counter at most every ``GENERATION_CHECK_SECONDS``,
so a rotated, revoked or disabled key stops working within that time of its commit, in every
process. Entries also expire after ``INGEST_KEY_CACHE_SECONDS`` whatever the counter says (a change
made behind the models' back, in SQL, is picked up then), and a rotated key's answer no later than
its overlap ends.

When Redis cannot be read, nothing is served from the cache: a lookup goes to the database, as it
would without one. Unknown keys are never cached (a 404 stays one statement, and a key created a
moment ago is found at once). Heartbeats are not cached: each one updates its integration's row.

The SLA policy a new incident gets is cached the same way, by organization, service and severity,
and every saved or deleted policy moves the generation on: otherwise each new incident of a storm
asks for it again, inside the transaction that holds the incident's lock.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from incidents.ingest import counters

logger = logging.getLogger(__name__)

GENERATION_CHECK_SECONDS = 0.1
MAX_ENTRIES = 4096


def _generation_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:ingest:keys-generation"


@dataclass
class _Entry:
    target: object
    generation: int
    loaded_at: float


class LookupCache:
    def __init__(self):
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._checked_at = float("-inf")

    def generation(self) -> int | None:
        """The counter as of at most ``GENERATION_CHECK_SECONDS`` ago; None when Redis cannot say."""
        now = time.monotonic()
        if now - self._checked_at < GENERATION_CHECK_SECONDS:
            return self._generation
        try:
            value = counters.client().get(_generation_key())
            generation = int(value or 0)
        except (redis.RedisError, ValueError):
            logger.warning("ingestion key cache bypassed: its generation cannot be read")
            generation = None
        with self._lock:
            self._generation, self._checked_at = generation, now
        return generation

    def key_target(self, digest: str, kind: str, load):
        """The target for this key digest and kind: cached when still current, else ``load()``."""
        return self._lookup((digest, kind), load, usable=_usable_target, private=_private_copy)

    def sla_policy(self, organization_id: int, service_id: int | None, severity: str, load):
        """The SLA policy a new incident of this organization, service and severity gets (None: none),
        cached as key lookups are: a storm opens thousands of incidents of a handful of shapes."""
        key = ("sla-policy", organization_id, service_id, severity)
        return self._lookup(key, load, usable=lambda policy: True, private=copy.copy)

    def _lookup(self, key: tuple, load, *, usable, private):
        """``load()``'s answer for ``key``: the cached one while current (loaded at the generation Redis
        holds, within the maximum age, and ``usable``), else loaded and kept if ``usable``."""
        max_age = settings.INGEST_KEY_CACHE_SECONDS
        generation = self.generation() if max_age > 0 else None
        if generation is None:
            return load()
        entry = self._entries.get(key)
        fresh = entry is not None and time.monotonic() - entry.loaded_at < max_age
        if fresh and entry.generation == generation and usable(entry.target):
            return private(entry.target)
        loaded_at = time.monotonic()
        target = load()
        if not usable(target):
            return target
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(target, generation, loaded_at)
        return private(target)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._checked_at = float("-inf")


def _usable_target(target) -> bool:
    # Unknown keys are not kept (a key created a moment ago is found at once), nor expired ones.
    return target is not None and (target.expires_at is None or target.expires_at > timezone.now())


def _private_copy(target):
    """Requests may set attributes on the integration they get; they must not share one object."""
    target = copy.copy(target)
    target.integration = copy.copy(target.integration)
    return target


cache = LookupCache()


def bump_generation() -> None:
    """Tell every process that cached lookups are stale. In this process at once; elsewhere within
    ``GENERATION_CHECK_SECONDS``. A Redis failure leaves the other processes on the expiry alone."""
    cache.clear()
    try:
        counters.client().incr(_generation_key())
    except redis.RedisError:
        logger.warning("ingestion key cache generation not moved on (Redis unavailable)")


def _changed(sender, **kwargs) -> None:
    # After the commit: a process that looked in between would load the old row and keep it.
    transaction.on_commit(bump_generation, robust=True)


def connect_signals() -> None:
    """Every model a lookup reads (``keys.load_target``, and the SLA policies of new incidents)."""
    from incidents.models import Integration, MaintenanceWindow, RoutingRule, Service, SLAPolicy
    from opsplatform.accounts.models import Organization

    for model in (Integration, RoutingRule, MaintenanceWindow, Service, Organization, SLAPolicy):
        uid = f"ingest-key-cache:{model._meta.label}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}:save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}:delete")
