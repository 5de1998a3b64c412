"""Applying an integration's routing rules, then its maintenance windows, to each event."""

from __future__ import annotations

from dataclasses import dataclass, field

from incidents.ingest.alert_event import AlertEvent, EventAction
from incidents.ingest.maintenance import covering_window
from incidents.ingest.matching import matches
from incidents.models import Priority, RoutingAction, RoutingRule


class Outcome:
    ROUTE = "route"
    SUPPRESS = "suppress"
    DROP = "drop"


@dataclass
class Decision:
    """What happens to one event: where it goes and with which severity, or why it goes nowhere."""

    event: AlertEvent
    outcome: str = Outcome.ROUTE
    service_id: int | None = None
    team_id: int | None = None
    severity: str = ""
    priority: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    rule: str = ""
    window: object = None  # the MaintenanceWindow that suppressed it
    reason: str = ""


def rules_for(integration) -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(integration_id=integration.pk, enabled=True).order_by("position", "pk")
    )


def decide(event: AlertEvent, *, integration, rules, windows, now) -> Decision:
    decision = Decision(
        event=event,
        service_id=integration.service_id,
        severity=event.severity,
        labels=dict(event.labels),
    )
    for rule in rules:
        if not matches(rule.matchers, event):
            continue
        decision.rule = rule.name
        if rule.action == RoutingAction.DROP:
            decision.outcome = Outcome.DROP
            decision.reason = f"rule: {rule.name}"
            return decision
        if rule.action == RoutingAction.SUPPRESS:
            decision.outcome = Outcome.SUPPRESS
            decision.reason = f"rule: {rule.name}"
            return decision
        if rule.route_service_id:
            decision.service_id = rule.route_service_id
        if rule.route_team_id:
            decision.team_id = rule.route_team_id
        if rule.set_severity:
            decision.severity = rule.set_severity
        if rule.set_priority:
            decision.priority = rule.set_priority
        if rule.add_labels:
            decision.labels.update({str(k): str(v) for k, v in rule.add_labels.items()})
        break
    # Maintenance only holds back what would open incidents: resolves and acknowledgements always
    # reach the incident they belong to.
    if event.action == EventAction.TRIGGER and windows:
        window = covering_window(
            windows,
            event,
            service_id=decision.service_id,
            labels=decision.labels,
            severity=decision.severity,
            at=now,
        )
        if window is not None:
            decision.outcome = Outcome.SUPPRESS
            decision.window = window
            decision.reason = f"maintenance: {window.name}"
    return decision


def default_priority(decision: Decision) -> str:
    return decision.priority or Priority.P3
