"""Heartbeat integrations as heartbeat monitors: one concept, the old URLs kept.

A heartbeat integration (``incidents``: ``/api/v1/integrations/<key>/heartbeat/``) keeps its URL, key,
API and ping handling: its endpoint records ``Integration.last_ping_at`` and resolves its incident,
as before. Every heartbeat integration gets a heartbeat monitor linked to it
(``Monitor.legacy_integration``), adopted by the check tick the first time it sees the integration,
with the same period, grace and service. From then on the monitor is the heartbeat:

* the tick applies the pings the integration recorded to its monitor (data, not calls: incidents is
  a lower layer and cannot call monitoring), so the monitor's page shows its pings and checks;
* the integration's own missed-ping timer (``Integration.next_check_at``) is cleared, so only the
  monitor decides a heartbeat is late (with its hysteresis, flapping and pause);
* the monitor alerts through the integration itself with the integration's dedup key
  (``heartbeat:<integration id>``), so an incident opened before the merge carries over and a ping
  on the old URL still resolves it.

Deleting the integration deletes its monitor. New heartbeats are best created as monitors.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import record
from incidents.models import Integration, IntegrationKind
from monitoring import heartbeat
from monitoring.models import MIN_INTERVAL_SECONDS, Monitor, MonitorKind, MonitorState
from monitoring.services.results import heartbeat_ping_by_id
from opsplatform.core.actors import Actor

logger = logging.getLogger(__name__)

MAX_GRACE = 7 * 86400
ADOPT_BATCH = 100


def _free_name(organization_id: int, name: str) -> str:
    candidate, n = name[:150], 2
    while Monitor.objects.filter(organization_id=organization_id, name=candidate).exists():
        candidate, n = f"{name[:130]} (heartbeat {n})", n + 1
    return candidate


def adopt(integration: Integration, *, now) -> Monitor:
    """The heartbeat monitor of ``integration`` (created once; the caller does not hold a lock)."""
    with transaction.atomic():
        locked = Integration.objects.select_for_update().select_related("organization").get(pk=integration.pk)
        existing = Monitor.objects.filter(legacy_integration=locked).first()
        if existing is not None:
            return existing
        period = max(MIN_INTERVAL_SECONDS, locked.heartbeat_period_seconds or 0)
        assertions = {"period": period, "grace": min(locked.heartbeat_grace_seconds, MAX_GRACE)}
        since = locked.last_ping_at or now
        monitor = Monitor.objects.create(
            organization=locked.organization,
            service_id=locked.service_id,
            name=_free_name(locked.organization_id, locked.name),
            kind=MonitorKind.HEARTBEAT,
            target=locked.name[:2048],
            interval_seconds=min(period, 86400),
            down_after=1,
            assertions=assertions,
            paused=not locked.enabled,
            state=MonitorState.PAUSED if not locked.enabled else MonitorState.PENDING,
            last_ping_at=locked.last_ping_at,
            next_check_at=None if not locked.enabled else heartbeat.deadline(assertions, since),
            legacy_integration=locked,
            created_at=now,
            updated_at=now,
        )
        Integration.objects.filter(pk=locked.pk).update(next_check_at=None)
        record(
            actor=Actor.system("monitoring", organization=locked.organization),
            verb="monitor.created",
            target=monitor,
            data={"kind": "heartbeat", "from_integration": locked.pk, "assertions": assertions},
        )
    return monitor


def sync(*, now=None) -> int:
    """Adopt new heartbeat integrations and apply their recorded pings; returns pings applied."""
    now = now or timezone.now()
    orphans = Integration.objects.filter(kind=IntegrationKind.HEARTBEAT, heartbeat_monitor__isnull=True)
    for integration in orphans.order_by("pk")[:ADOPT_BATCH]:
        try:
            adopt(integration, now=now)
        except Exception:
            logger.exception("heartbeat integration %s: adopting it as a monitor failed", integration.pk)
    behind = Monitor.objects.filter(
        legacy_integration__isnull=False, legacy_integration__last_ping_at__isnull=False
    ).filter(Q(last_ping_at__isnull=True) | Q(last_ping_at__lt=F("legacy_integration__last_ping_at")))
    applied = 0
    for monitor_id, pinged_at in behind.values_list("pk", "legacy_integration__last_ping_at"):
        try:
            heartbeat_ping_by_id(monitor_id=monitor_id, now=pinged_at)
            applied += 1
        except Exception:
            logger.exception("heartbeat monitor %s: applying its integration's ping failed", monitor_id)
    # Each ping re-arms the integration's own timer; the monitor is the one that decides.
    Integration.objects.filter(heartbeat_monitor__isnull=False, next_check_at__isnull=False).update(
        next_check_at=None
    )
    return applied
