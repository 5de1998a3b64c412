"""Location writes: create and delete probe locations (agent tokens), place a monitor at locations,
and the agent's two calls: lease due checks, report results.

An agent's lease claims its location's due placements with ``FOR UPDATE SKIP LOCKED`` (two agents of
one location split the work) and moves each to a lease; the due time it leased is the fencing token
its report must carry, so a late or repeated report of an old lease changes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from monitoring.locations.models import LOCAL, MonitorLocation, ProbeLocation
from monitoring.models import Monitor, MonitorKind, Outcome
from monitoring.probes.base import ProbeResult, ProbeSpec
from monitoring.services.results import apply_result, next_due
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

TOKEN_PREFIX = "opa_"
LEASE = timedelta(seconds=120)
MAX_LEASE = 500
MAX_LOOKAHEAD_SECONDS = 10.0


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class IssuedLocation:
    location: ProbeLocation
    token: str  # shown once


@transaction.atomic
def location_create(*, actor: Actor, name: str) -> IssuedLocation:
    actor.require(Capability.MONITOR_MANAGE)
    name = (name or "").strip().lower()
    if not name or name == LOCAL or not all(c.isalnum() or c in "-_" for c in name) or len(name) > 64:
        raise ValidationError({"name": "Letters, digits, - and _ (64 at most); 'local' is the built-in one."})
    if ProbeLocation.objects.filter(organization=actor.organization, name=name).exists():
        raise ValidationError({"name": "A location with this name already exists."})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    location = ProbeLocation.objects.create(
        organization=actor.organization, name=name, token_hash=token_digest(token)
    )
    record(actor=actor, verb="monitor.location_created", target=location, data={"name": name})
    return IssuedLocation(location, token)


@transaction.atomic
def location_delete(*, actor: Actor, location: ProbeLocation) -> None:
    actor.require(Capability.MONITOR_MANAGE)
    monitors = list(
        Monitor.objects.select_for_update()
        .filter(placements__location=location, organization=actor.organization)
        .order_by("pk")
    )
    record(actor=actor, verb="monitor.location_deleted", target=location, data={"name": location.name})
    location.delete()
    for monitor in monitors:
        _recount(monitor)
        if monitor.remote_locations == 0:
            MonitorLocation.objects.filter(monitor=monitor).delete()
            monitor.check_locally, monitor.quorum = True, 1
            if monitor.next_check_at is None and not monitor.paused:
                monitor.next_check_at = timezone.now()
        monitor.quorum = min(monitor.quorum, monitor.remote_locations + int(monitor.check_locally))
        monitor.save(update_fields=["remote_locations", "check_locally", "quorum", "next_check_at"])


def _recount(monitor: Monitor) -> None:
    monitor.remote_locations = MonitorLocation.objects.filter(monitor=monitor, location__isnull=False).count()


@transaction.atomic
def monitor_set_locations(
    *, actor: Actor, monitor: Monitor, locations: list[str], quorum: int = 1
) -> Monitor:
    """Check ``monitor`` from ``locations`` ("local" is the built-in scheduler); down takes ``quorum``."""
    actor.require(Capability.MONITOR_MANAGE)
    monitor = Monitor.objects.select_for_update().get(pk=monitor.pk, organization=actor.organization)
    names = list(dict.fromkeys(str(n).strip().lower() for n in locations))
    if not names:
        raise ValidationError({"locations": "At least one location."})
    remote = {
        loc.name: loc for loc in ProbeLocation.objects.filter(organization=actor.organization, name__in=names)
    }
    unknown = [n for n in names if n != LOCAL and n not in remote]
    if unknown:
        raise ValidationError({"locations": f"Unknown location: {', '.join(unknown)}."})
    if remote and monitor.kind == MonitorKind.HEARTBEAT:
        raise ValidationError({"locations": "A heartbeat is pinged, not probed: it has no locations."})
    if not 1 <= quorum <= len(names):
        raise ValidationError({"quorum": f"From 1 to the number of locations ({len(names)})."})
    before = monitor.location_names, monitor.quorum
    now = timezone.now()
    local = LOCAL in names
    if not remote:
        MonitorLocation.objects.filter(monitor=monitor).delete()
    else:
        keep = [loc.pk for loc in remote.values()]
        stale = MonitorLocation.objects.filter(monitor=monitor, location__isnull=False).exclude(
            location__in=keep
        )
        stale.delete()
        if not local:
            MonitorLocation.objects.filter(monitor=monitor, location__isnull=True).delete()
        have = set(MonitorLocation.objects.filter(monitor=monitor).values_list("location_id", flat=True))
        due = None if monitor.paused else now
        MonitorLocation.objects.bulk_create(
            [
                MonitorLocation(monitor=monitor, location=loc, next_check_at=due)
                for loc in remote.values()
                if loc.pk not in have
            ]
            + ([MonitorLocation(monitor=monitor, location=None)] if local and None not in have else [])
        )
    monitor.check_locally, monitor.quorum, monitor.remote_locations = local, quorum, len(remote)
    if not local:
        monitor.next_check_at = None
    elif monitor.next_check_at is None and not monitor.paused:
        monitor.next_check_at = now
    monitor.updated_at = now
    monitor.save(update_fields=["check_locally", "quorum", "remote_locations", "next_check_at", "updated_at"])
    after = monitor.location_names, quorum
    if after != before:
        record(
            actor=actor,
            verb="monitor.locations_changed",
            target=monitor,
            data={
                "locations": after[0],
                "quorum": quorum,
                "before": {"locations": before[0], "quorum": before[1]},
            },
        )
    return monitor


# --- the agent's calls -------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    spec: ProbeSpec
    due_at: datetime


def agent_lease(
    *, location: ProbeLocation, now=None, limit: int = 100, lookahead: float = 2.0
) -> list[Lease]:
    now = now or timezone.now()
    limit = max(1, min(limit, MAX_LEASE))
    horizon = now + timedelta(seconds=max(0.0, min(lookahead, MAX_LOOKAHEAD_SECONDS)))
    with transaction.atomic():
        due = list(
            MonitorLocation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("monitor")
            .filter(location=location, next_check_at__lte=horizon, monitor__paused=False)
            .order_by("next_check_at")[:limit]
        )
        leases = [Lease(ProbeSpec.of(p.monitor), p.next_check_at) for p in due]
        for placement in due:
            placement.leased_due_at, placement.next_check_at = placement.next_check_at, now + LEASE
        MonitorLocation.objects.bulk_update(due, ["leased_due_at", "next_check_at"])
        ProbeLocation.objects.filter(pk=location.pk).update(last_seen_at=now)
    return leases


@dataclass(frozen=True)
class Report:
    monitor_id: int
    due_at: datetime
    outcome: str
    started_at: datetime
    latency_ms: float | None = None
    message: str = ""


def agent_report(*, location: ProbeLocation, report: Report) -> bool:
    """Record one result of ``location``'s agent; False when it does not match a current lease."""
    if report.outcome not in Outcome.values:
        raise ValidationError({"outcome": f"One of {', '.join(Outcome.values)}."})
    with transaction.atomic():
        monitor = (
            Monitor.objects.select_for_update(of=("self",))
            .select_related("organization", "service")
            .filter(pk=report.monitor_id, organization_id=location.organization_id, paused=False)
            .first()
        )
        if monitor is None:
            return False
        placement = (
            MonitorLocation.objects.select_for_update().filter(monitor=monitor, location=location).first()
        )
        if placement is None or placement.leased_due_at is None or placement.leased_due_at != report.due_at:
            return False
        now = timezone.now()
        started = min(report.started_at, now)
        apply_result(
            monitor,
            ProbeResult(report.outcome, report.message[:500], report.latency_ms),
            now=started,
            due_at=report.due_at,
            schedule=False,
            location=location,
        )
        MonitorLocation.objects.filter(pk=placement.pk).update(
            leased_due_at=None, next_check_at=next_due(monitor, due_at=report.due_at, now=now)
        )
    return True
