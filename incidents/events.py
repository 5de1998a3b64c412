"""Realtime pushes for incident changes: a small event, sent after commit; pages re-fetch."""

from opsplatform.realtime.groups import object_group, organization_group, publish_after_commit


def incident_group(incident_id) -> str:
    return object_group("incident", incident_id)


def publish_incident(incident, verb: str) -> None:
    event = {"kind": "incident", "id": incident.pk, "verb": verb, "status": incident.status}
    publish_after_commit(organization_group(incident.organization_id), event)
    publish_after_commit(incident_group(incident.pk), event)
