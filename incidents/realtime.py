"""The one publisher of incident realtime events: a small event, sent after commit; pages re-fetch.

Every event has the same shape (kind, id, verb, status) and goes to the organization's group and
the incident's own group. Pushes carry no data the viewer might not be allowed to see.
"""

from collections import defaultdict
from collections.abc import Iterable

from opsplatform.realtime.groups import (
    object_group,
    organization_group,
    publish_after_commit,
    publish_many_after_commit,
)


def incident_group(incident_id) -> str:
    return object_group("incident", incident_id)


def incident_event(incident, verb: str) -> dict:
    return {"kind": "incident", "id": incident.pk, "verb": verb, "status": incident.status}


def publish_incident(incident, verb: str) -> None:
    publish_incidents_after_commit([(incident, verb)])


def publish_incidents_after_commit(items: Iterable[tuple[object, str]]) -> None:
    """Push ``(incident, verb)`` events once the transaction commits: the latest one per incident to
    its own group, all in one trip to the channel layer. Each organization's group hears one event
    for its lot (with no id when there are several: every incident region on a page re-fetches
    once), as for new incidents: a delivery or escalation batch must not send each viewer a burst."""
    latest = {}
    for incident, verb in items:
        latest[incident.pk] = (incident, verb)
    messages, by_organization = [], defaultdict(list)
    for incident, verb in latest.values():
        messages.append((incident_group(incident.pk), incident_event(incident, verb)))
        by_organization[incident.organization_id].append((incident, verb))
    for organization_id, changed in by_organization.items():
        messages.append((organization_group(organization_id), _organization_event(changed)))
    publish_many_after_commit(messages)


def _organization_event(changed: list[tuple[object, str]]) -> dict:
    if len(changed) == 1:
        return incident_event(*changed[0])
    verbs = {verb for _, verb in changed}
    verb = verbs.pop() if len(verbs) == 1 else "incident.updated"
    return {"kind": "incident", "verb": verb, "count": len(changed)}


def publish_triggered(organization_id, created: list) -> None:
    """New incidents go to the organization's group only (nobody can be watching the page of an
    incident that did not exist), and a storm's worth as one event: lists refresh once, not once per
    incident."""
    if not created:
        return
    if len(created) == 1:
        event = incident_event(created[0], "incident.triggered")
    else:
        event = {"kind": "incident", "verb": "incident.triggered", "count": len(created)}
    publish_after_commit(organization_group(organization_id), event)
