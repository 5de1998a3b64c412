"""Recording a check result: the state machine, the ledger, the incident, the next due time.

One transaction per monitor: lock the row, re-check it is still active, insert the raw result,
advance the state (``monitoring.state``), write a ledger entry for every state or flapping change,
and open or resolve the monitor's incident through the ingestion pipeline in the same transaction.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.services import record
from monitoring import alerting, heartbeat
from monitoring.eventlogs import CHECK_RESULTS
from monitoring.locations import quorum
from monitoring.models import CheckResult, Monitor, MonitorKind, MonitorState, Outcome
from monitoring.probes.base import ProbeResult
from monitoring.services.monitors import ping_key_digest
from monitoring.state import advance
from opsplatform.core.actors import Actor


def next_due(monitor: Monitor, *, due_at, now):
    interval = monitor.interval_seconds
    if monitor.state == MonitorState.DOWN and monitor.down_interval_seconds:
        interval = monitor.down_interval_seconds
    # From the due time, so checks keep their rhythm; from now when the check itself ran late.
    base = max((due_at or now) + timedelta(seconds=interval), now + timedelta(seconds=1))
    jitter = random.uniform(0, monitor.jitter_seconds) if monitor.jitter_seconds else 0.0
    return base + timedelta(seconds=jitter)


def _alert(monitor: Monitor, *, was_state: str, was_flapping: bool, now) -> None:
    """Open or resolve the incident; a flapping monitor raises one incident and stays quiet after."""
    down = monitor.state == MonitorState.DOWN
    if monitor.flapping and not was_flapping:
        if not monitor.alerting:
            alerting.trigger(monitor, now=now, flapping=True)
            monitor.alerting = True
    elif monitor.flapping:
        return
    elif down and not monitor.alerting:
        alerting.trigger(monitor, now=now, flapping=False)
        monitor.alerting = True
    elif not down and monitor.alerting:
        alerting.resolve(monitor, now=now)
        monitor.alerting = False


def apply_result(
    monitor: Monitor, result: ProbeResult, *, now, due_at=None, schedule: bool = True, location=None
) -> CheckResult:
    """Record ``result`` on a locked, active ``monitor`` (the caller holds the transaction and the lock).

    ``location``: the probe location that checked (None: the built-in scheduler). A monitor checked
    from remote locations moves on the quorum's outcome (``monitoring.locations.quorum``).
    """
    lateness = (now - due_at).total_seconds() * 1000 if due_at else None
    row = CheckResult(
        monitor=monitor,
        checked_at=now,
        outcome=result.outcome,
        latency_ms=result.latency_ms,
        message=result.message[:500],
        lateness_ms=lateness,
        location=quorum.location_name(location),
    )
    CHECK_RESULTS.append([row], organization_id=monitor.organization_id)
    was_state, was_flapping = monitor.state, monitor.flapping
    outcome, down_after, up_after = result.outcome, monitor.down_after, monitor.up_after
    ratio, window, verdict = monitor.failure_ratio, monitor.ratio_window, None
    if monitor.remote_locations:
        # Each location applied the thresholds to its own results; the monitor follows the quorum.
        verdict = quorum.apply(monitor, location=location, outcome=result.outcome, now=now)
        outcome, down_after, up_after, ratio, window = verdict.outcome, 1, 1, None, None
    step = advance(
        state=monitor.state,
        flapping=monitor.flapping,
        consecutive_failures=monitor.consecutive_failures,
        consecutive_successes=monitor.consecutive_successes,
        history=monitor.history,
        outcome=outcome,
        down_after=down_after,
        up_after=up_after,
        failure_ratio=ratio,
        ratio_window=window,
    )
    monitor.state, monitor.flapping = step.state, step.flapping
    monitor.consecutive_failures, monitor.consecutive_successes = (
        step.consecutive_failures,
        step.consecutive_successes,
    )
    monitor.history = step.history
    monitor.last_checked_at, monitor.last_latency_ms, monitor.last_message = (
        now,
        result.latency_ms,
        result.message[:500],
    )
    actor = Actor.system("monitoring", organization=monitor.organization)
    if step.state != was_state:
        monitor.state_changed_at = now
        record(
            actor=actor,
            verb="monitor.state_changed",
            target=monitor,
            data={
                "from": was_state,
                "to": step.state,
                "message": result.message[:500],
                "failures": step.consecutive_failures,
                "successes": step.consecutive_successes,
                "location": row.location,
                **({"quorum": verdict.describe()} if verdict else {}),
            },
        )
    if step.flapping != was_flapping:
        record(
            actor=actor,
            verb="monitor.flapping_started" if step.flapping else "monitor.flapping_stopped",
            target=monitor,
            data={"percent_state_change": round(step.flap_percent or 0.0, 2)},
        )
    _alert(monitor, was_state=was_state, was_flapping=was_flapping, now=now)
    if schedule:
        monitor.next_check_at = next_due(monitor, due_at=due_at, now=now)
    monitor.updated_at = now
    monitor.save()
    return row


def record_result(monitor_id: int, result: ProbeResult, *, now=None, due_at=None) -> CheckResult | None:
    """Lock, re-check and record; None when the monitor was paused or deleted meanwhile."""
    now = now or timezone.now()
    with transaction.atomic():
        monitor = (
            Monitor.objects.select_for_update(of=("self",))
            .select_related("organization", "service")
            .filter(pk=monitor_id, paused=False)
            .first()
        )
        if monitor is None:
            return None
        return apply_result(monitor, result, now=now, due_at=due_at)


# --- heartbeats -------------------------------------------------------------------------------


class PingKind:
    SUCCESS = "success"
    START = "start"
    FAIL = "fail"


def heartbeat_ping(*, key: str, kind: str = PingKind.SUCCESS, now=None) -> Monitor | None:
    """A ping by the monitor's secret key; None when no active heartbeat monitor has that key."""
    now = now or timezone.now()
    with transaction.atomic():
        monitor = (
            Monitor.objects.select_for_update(of=("self",))
            .select_related("organization", "service")
            .filter(ping_key_hash=ping_key_digest(key), kind=MonitorKind.HEARTBEAT)
            .first()
        )
        if monitor is not None:
            apply_ping(monitor, kind=kind, now=now)
        return monitor


def heartbeat_ping_by_id(*, monitor_id: int, kind: str = PingKind.SUCCESS, now) -> Monitor | None:
    """A ping that arrived another way (a heartbeat integration's URL, ``monitoring.legacy``)."""
    with transaction.atomic():
        monitor = (
            Monitor.objects.select_for_update(of=("self",))
            .select_related("organization", "service", "legacy_integration")
            .filter(pk=monitor_id, kind=MonitorKind.HEARTBEAT)
            .first()
        )
        if monitor is not None:
            apply_ping(monitor, kind=kind, now=now)
        return monitor


def apply_ping(monitor: Monitor, *, kind: str, now) -> None:
    """Record a ping on a locked heartbeat monitor."""
    if monitor.paused:
        return  # accepted, and ignored: a paused monitor neither alerts nor recovers
    if kind == PingKind.START:
        monitor.last_start_at = now
        monitor.save(update_fields=["last_start_at"])
        return
    run = None
    if monitor.last_start_at is not None:
        run = (now - monitor.last_start_at).total_seconds()
        monitor.last_run_seconds, monitor.last_start_at = run, None
    monitor.last_ping_at = now
    message = f"ran {run:.1f} s" if run is not None else "ping"
    outcome = Outcome.DOWN if kind == PingKind.FAIL else Outcome.UP
    apply_result(
        monitor,
        ProbeResult(outcome, ("failed: " if kind == PingKind.FAIL else "") + message),
        now=now,
        schedule=False,
    )
    monitor.next_check_at = heartbeat.deadline(monitor.assertions, now)
    monitor.save(update_fields=["next_check_at", "last_ping_at", "last_run_seconds", "last_start_at"])


def heartbeat_late(monitor: Monitor, *, now) -> CheckResult:
    """The tick found the deadline passed without a ping: a failed check, repeated each interval."""
    since = monitor.last_ping_at
    message = f"late: no ping since {since:%Y-%m-%d %H:%M:%S} UTC" if since else "late: no ping yet"
    row = apply_result(monitor, ProbeResult(Outcome.DOWN, message), now=now, schedule=False)
    monitor.next_check_at = now + timedelta(seconds=monitor.interval_seconds)
    monitor.save(update_fields=["next_check_at"])
    return row
