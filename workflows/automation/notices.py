"""The e-mail a "notify" action sends through the workflows outbox (``Notice`` of kind automation)."""

from dataclasses import dataclass

from django.urls import reverse

from notifications.incident_message import absolute


@dataclass(frozen=True)
class AutomationMessage:
    subject: str
    body: str
    delivery_key: str

    def text(self) -> str:
        return self.body


def automation_message(notice) -> AutomationMessage:
    execution = notice.execution
    rule, incident = execution.rule, execution.incident
    about = f"#{incident.pk} {' '.join(incident.title.split())}" if incident else execution.event_verb
    lines = [execution.action.get("message") or f"Automation rule “{rule.name}” fired.", ""]
    lines.append(f"Event: {execution.event_verb} at {execution.event_at:%Y-%m-%d %H:%M} UTC")
    if incident:
        lines.append(f"Incident: {about} ({incident.severity}, {incident.status})")
        lines.append(f"Open: {absolute(reverse('incidents:detail', args=[incident.pk]))}")
    lines.append(f"Rule: {absolute(reverse('automation:rule', args=[rule.pk]))}")
    return AutomationMessage(
        f"[Automation] {rule.name}: {about}"[:200], "\n".join(lines), notice.idempotency_key
    )
