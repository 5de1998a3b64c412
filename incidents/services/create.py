from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Incident, Priority, Severity, Status
from incidents.realtime import publish_incident
from incidents.services.edits import members_only
from incidents.sla.policy import apply_policy, refresh_timer
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability


def _validate(*, organization, title, severity, priority, service, team, labels) -> None:
    errors = {}
    if not (title or "").strip():
        errors["title"] = "A title is required."
    elif len(title) > 255:
        errors["title"] = "A title is at most 255 characters."
    if severity and severity not in Severity.values:
        errors["severity"] = f"Choose one of {', '.join(Severity.values)}."
    if priority not in Priority.values:
        errors["priority"] = f"Choose one of {', '.join(Priority.values)}."
    if service is not None and service.organization_id != organization.pk:
        errors["service"] = "Not found."
    if team is not None and team.organization_id != organization.pk:
        errors["team"] = "Not found."
    if not isinstance(labels, dict):
        errors["labels"] = "Labels are a JSON object."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def incident_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    service=None,
    team=None,
    severity: str = "",
    priority: str = Priority.P3,
    labels: dict | None = None,
    source: str = "manual",
    dedup_key: str = "",
    assignees=(),
) -> Incident:
    """Open a triggered incident: SLA clocks start and the escalation timer is set to now."""
    actor.require(Capability.INCIDENT_CREATE)
    organization = actor.organization
    labels = labels if labels is not None else {}
    _validate(
        organization=organization,
        title=title,
        severity=severity,
        priority=priority,
        service=service,
        team=team,
        labels=labels,
    )
    now = timezone.now()
    incident = Incident(
        organization=organization,
        title=title.strip(),
        description=description,
        service=service,
        team=team or (service.owner_team if service else None),
        severity=severity or (service.default_severity if service else Severity.SEV3),
        priority=priority,
        labels=labels,
        source=source,
        dedup_key=dedup_key,
        status=Status.TRIGGERED,
        created_at=now,
        updated_at=now,
        # A service under maintenance records its incidents but pages nobody.
        next_escalation_at=None if (service and service.in_maintenance) else now,
    )
    apply_policy(incident, start=now)
    refresh_timer(incident)
    incident.save()
    if assignees:
        incident.assignees.set(members_only(organization, assignees))
    record(
        actor=actor,
        verb="incident.triggered",
        target=incident,
        data={
            "title": incident.title,
            "severity": incident.severity,
            "priority": incident.priority,
            "service": incident.service_id,
            "team": incident.team_id,
            "source": source,
        },
    )
    publish_incident(incident, "incident.triggered")
    return incident
