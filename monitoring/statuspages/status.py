"""A component's state from its sources, and the page's from its components: pure functions.

Sources, worst wins:

* monitors: all of them down → major outage; some down → partial outage; any degraded or flapping →
  degraded performance (paused and pending monitors say nothing);
* open internal incidents on the component's services, by severity: sev1 → major, sev2 → partial,
  sev3/sev4 → degraded (their titles and notes are never shown, only this effect);
* open public incident notices that name the component: the state the operator chose.

During a maintenance notice's window the automatic sources (monitors, internal incidents) are what
the maintenance is expected to cause, so the component shows under maintenance unless an operator's
incident notice says worse.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitoring.statuspages.models import STATUS_RANK, ComponentStatus

SEVERITY_STATUS = {
    "sev1": ComponentStatus.MAJOR,
    "sev2": ComponentStatus.PARTIAL,
    "sev3": ComponentStatus.DEGRADED,
    "sev4": ComponentStatus.DEGRADED,
}


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: STATUS_RANK[s], default=ComponentStatus.OPERATIONAL)


def from_monitors(monitors: Iterable[tuple[str, bool]]) -> str:
    """``monitors``: (state, flapping) of each bound monitor."""
    counted = [(state, flapping) for state, flapping in monitors if state in ("up", "degraded", "down")]
    if not counted:
        return ComponentStatus.OPERATIONAL
    down = sum(1 for state, _ in counted if state == "down")
    if down == len(counted):
        return ComponentStatus.MAJOR
    if down:
        return ComponentStatus.PARTIAL
    if any(state == "degraded" or flapping for state, flapping in counted):
        return ComponentStatus.DEGRADED
    return ComponentStatus.OPERATIONAL


def component_status(
    *,
    monitors: Iterable[tuple[str, bool]] = (),
    incident_severities: Iterable[str] = (),
    declared: Iterable[str] = (),
    in_maintenance: bool = False,
) -> str:
    declared = list(declared)
    if in_maintenance:
        return worst([ComponentStatus.MAINTENANCE, *declared])
    automatic = [
        from_monitors(monitors),
        *(SEVERITY_STATUS.get(s, ComponentStatus.DEGRADED) for s in incident_severities),
    ]
    return worst([*automatic, *declared])


# Statuspage's page indicator and its wording, from the worst component.
INDICATOR = {
    ComponentStatus.OPERATIONAL: ("none", "All Systems Operational"),
    ComponentStatus.MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    ComponentStatus.DEGRADED: ("minor", "Minor Service Outage"),
    ComponentStatus.PARTIAL: ("major", "Partial System Outage"),
    ComponentStatus.MAJOR: ("critical", "Major System Outage"),
}


def page_status(component_statuses: Iterable[str]) -> tuple[str, str]:
    """(indicator, description) for the page as a whole."""
    return INDICATOR[ComponentStatus(worst(component_statuses))]


# Badge and bar colours of the design system for each state.
TONE = {
    ComponentStatus.OPERATIONAL: "ok",
    ComponentStatus.MAINTENANCE: "info",
    ComponentStatus.DEGRADED: "warn",
    ComponentStatus.PARTIAL: "warn",
    ComponentStatus.MAJOR: "bad",
}


def uptime_tone(percent: float | None) -> str:
    """A day's bar: no data, or how close to 100 % it stayed."""
    if percent is None:
        return "none"
    if percent >= 99.9:
        return "ok"
    if percent >= 95.0:
        return "warn"
    return "bad"
