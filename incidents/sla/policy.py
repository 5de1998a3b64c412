"""Choosing an incident's SLA policy, laying out its due times, and pausing them while snoozed."""

import logging
from functools import lru_cache
from zoneinfo import ZoneInfo

from incidents.models import Calendar, Incident, SLAPolicy, SLAState, Status
from incidents.sla.calendar import AlwaysCalendar, BusinessCalendar
from opsplatform.core.prepared import fetchone_prepared, model_from_row, select_columns

logger = logging.getLogger(__name__)


class PolicyUnusable(Exception):
    """The policy (or the team time zone it falls back to) cannot lay out a clock."""


@lru_cache(maxsize=1)
def _policy_sql() -> str:
    # Identifiers come from model metadata; every value is a parameter.
    return (
        f"SELECT {select_columns(SLAPolicy, 'p')} FROM {SLAPolicy._meta.db_table} p"  # noqa: S608
        " WHERE p.organization_id = %(org)s"
        " AND (p.service_id = %(service)s OR p.service_id IS NULL)"
        " AND (p.severity = %(severity)s OR p.severity = '')"
        # The most specific policy: its service first, then its severity.
        " ORDER BY p.service_id IS NULL, p.severity = '', p.id LIMIT 1"
    )


def policy_for(incident: Incident) -> SLAPolicy | None:
    """The policy of the incident's service and severity, else of its service, else of its
    severity, else the organization's default (each level: the oldest policy)."""
    row = fetchone_prepared(
        _policy_sql(),
        {"org": incident.organization_id, "service": incident.service_id, "severity": incident.severity},
    )
    return model_from_row(SLAPolicy, row) if row else None


def calendar_for(policy: SLAPolicy, incident: Incident):
    if policy.calendar == Calendar.ALWAYS:
        return AlwaysCalendar()
    zone = policy.time_zone or (incident.team.time_zone if incident.team_id else "") or "UTC"
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise PolicyUnusable(f"unknown time zone {zone!r}") from exc
    days = frozenset(policy.business_days or ())
    if not days or not days <= set(range(7)):
        raise PolicyUnusable(f"no usable working days {sorted(days)!r}")
    return BusinessCalendar(tz=tz, start=policy.business_start, end=policy.business_end, days=days)


def _unusable(policy: SLAPolicy, incident: Incident, exc: Exception) -> None:
    # Policies are checked on save, but a row stored before that check (or a team's time zone)
    # must not fail every page, API call and ingestion that touches a matching incident.
    logger.warning(
        "SLA policy %s cannot be applied to incident %s (%s); the incident runs without an SLA",
        policy.pk,
        incident.pk,
        exc,
        extra={"sla_policy_id": policy.pk, "organization_id": incident.organization_id},
    )


SLA_FIELDS = ["sla_policy", "ack_due_at", "ack_warn_at", "resolve_due_at", "resolve_warn_at"]


def apply_policy(incident: Incident, *, start=None, lookup=policy_for) -> list[str]:
    """Set the due and warning instants from the matching policy (found by ``lookup``); returns the
    fields changed."""
    policy = lookup(incident)
    incident.sla_policy = policy
    if policy is None:
        incident.ack_due_at = incident.ack_warn_at = incident.resolve_due_at = incident.resolve_warn_at = None
        return SLA_FIELDS
    start = start or incident.created_at
    ratio = policy.warning_percent / 100
    ack, resolve = policy.ack_target_minutes * 60, policy.resolve_target_minutes * 60
    try:
        cal = calendar_for(policy, incident)
        due = [
            cal.add(start, ack),
            cal.add(start, ack * ratio),
            cal.add(start, resolve),
            cal.add(start, resolve * ratio),
        ]
    except (PolicyUnusable, ValueError, OverflowError) as exc:  # add(): no working time, or past year 9999
        _unusable(policy, incident, exc)
        incident.sla_policy = None
        incident.ack_due_at = incident.ack_warn_at = incident.resolve_due_at = incident.resolve_warn_at = None
        return SLA_FIELDS
    incident.ack_due_at, incident.ack_warn_at, incident.resolve_due_at, incident.resolve_warn_at = due
    return SLA_FIELDS


def shift_for_pause(incident: Incident, *, paused_from, paused_to) -> list[str]:
    """Snoozed time does not count when the policy says so: push every pending instant later by
    the working time that elapsed while snoozed."""
    policy = incident.sla_policy
    if policy is None or not policy.pause_while_snoozed or paused_from is None:
        return []
    try:
        cal = calendar_for(policy, incident)
    except PolicyUnusable as exc:
        _unusable(policy, incident, exc)
        return []  # the clocks keep their instants: the snoozed time counts
    changed = []
    pending = {
        "ack_warn_at": incident.ack_warned_at is None,
        "ack_due_at": incident.ack_breached_at is None,
        "resolve_warn_at": incident.resolve_warned_at is None,
        "resolve_due_at": incident.resolve_breached_at is None,
    }
    for field, is_pending in pending.items():
        due = getattr(incident, field)
        if due is None or not is_pending or due <= paused_from:
            continue
        try:
            shifted = cal.add(paused_to, cal.between(paused_from, due))
        except (ValueError, OverflowError) as exc:
            _unusable(policy, incident, exc)
            continue
        setattr(incident, field, shifted)
        changed.append(field)
    return changed


# (instant field, marker field, what stops this clock). Resolving stops the acknowledgement clock
# too: an incident resolved (or merged away) without an acknowledgement must not breach later.
CLOCKS = [
    ("ack_warn_at", "ack_warned_at", ("acknowledged_at", "resolved_at")),
    ("ack_due_at", "ack_breached_at", ("acknowledged_at", "resolved_at")),
    ("resolve_warn_at", "resolve_warned_at", ("resolved_at",)),
    ("resolve_due_at", "resolve_breached_at", ("resolved_at",)),
]


def pending_clocks(incident: Incident):
    for instant, marker, stoppers in CLOCKS:
        stopped = any(getattr(incident, stopper) for stopper in stoppers)
        if getattr(incident, instant) and not getattr(incident, marker) and not stopped:
            yield instant, marker


def refresh_timer(incident: Incident) -> list[str]:
    """Recompute ``sla_next_at``; a snoozed incident under a pausing policy has no running clock."""
    paused = (
        incident.status == Status.SNOOZED
        and incident.sla_policy_id
        and incident.sla_policy.pause_while_snoozed
    )
    instants = [] if paused else [getattr(incident, instant) for instant, _ in pending_clocks(incident)]
    incident.sla_next_at = min(instants, default=None)
    return ["sla_next_at"]


def sla_state(incident: Incident, now) -> str:
    if incident.sla_policy_id is None and incident.ack_due_at is None:
        return SLAState.NONE
    if incident.ack_breached_at or incident.resolve_breached_at:
        return SLAState.BREACHED
    if incident.resolved_at:
        return SLAState.MET
    if incident.ack_warned_at or incident.resolve_warned_at:
        return SLAState.AT_RISK
    return SLAState.OK


def next_due(incident: Incident):
    """The deadline the page counts down to: acknowledgement first, then resolution."""
    if incident.resolved_at:
        return None
    if incident.acknowledged_at is None and incident.ack_due_at:
        return "acknowledge", incident.ack_due_at
    if incident.resolve_due_at:
        return "resolve", incident.resolve_due_at
    return None
