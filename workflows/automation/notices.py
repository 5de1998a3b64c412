"""What a "notify" action says through the workflows outbox (``Notice`` of kind automation)."""

from django.urls import reverse

from notifications.incident_message import absolute
from notifications.message import Link, Message


def automation_message(notice) -> Message:
    execution = notice.execution
    rule, incident = execution.rule, execution.incident
    about = f"#{incident.pk} {' '.join(incident.title.split())}" if incident else execution.event_verb
    lines = [execution.action.get("message") or f"Automation rule “{rule.name}” fired."]
    lines.append(f"Event: {execution.event_verb} at {execution.event_at:%Y-%m-%d %H:%M} UTC")
    links = []
    data = {
        "rule": {"id": rule.pk, "name": rule.name},
        "event": {"verb": execution.event_verb, "at": execution.event_at.isoformat()},
    }
    if incident:
        lines.append(f"Incident: {about} ({incident.severity}, {incident.status})")
        links.append(Link("Open", absolute(reverse("incidents:detail", args=[incident.pk]))))
        data["incident"] = {"id": incident.pk, "title": incident.title, "severity": incident.severity}
    links.append(Link("Rule", absolute(reverse("automation:rule", args=[rule.pk]))))
    return Message(
        kind="workflow.automation",
        subject=f"[Automation] {rule.name}: {about}",
        lines=tuple(lines),
        links=tuple(links),
        delivery_key=notice.idempotency_key,
        organization=notice.organization.name,
        data=data,
    )
