"""What the ledger says about a postmortem's incidents: timeline rows and the facts around them.

Every entry whose target is one of the incidents becomes one row, in chain order, carrying the
entry's sequence and hash; the facts (impact window, MTTA/MTTR, SLA outcome, services, responders)
are computed from those same entries, so the draft never says something the ledger does not.
"""

from dataclasses import dataclass

from audit.selectors import timeline_for
from opsplatform.core.actors import ActorKind

from .models import TimelineKind

STATE_VERBS = {
    "incident.triggered": "Triggered",
    "incident.acknowledged": "Acknowledged",
    "incident.resolved": "Resolved",
    "incident.reopened": "Reopened",
    "incident.snoozed": "Snoozed",
    "incident.unsnoozed": "Unsnoozed",
    "incident.merged": "Merged into another incident",
    "incident.merged_in": "Another incident was merged in",
}
PAGE_VERBS = {"incident.escalated": "Escalated", "incident.notification": "Notification"}
PEOPLE_VERBS = {"incident.reassigned": "Reassigned", "incident.responders_added": "Responders added"}
SLA_PREFIX = "incident.sla_"
TEXT_LIMIT = 500

RUNBOOK_STEP = "incident.runbook_step_checked"


@dataclass(frozen=True)
class Row:
    incident_id: int
    sequence: int
    entry_hash: str
    verb: str
    kind: str
    actor_type: str
    actor_id: str
    actor_label: str
    occurred_at: object
    text: str


def _kind_and_text(entry) -> tuple[str, str]:
    verb, data = entry.verb, entry.data or {}
    if verb == "incident.note_added":
        return TimelineKind.NOTE, str(data.get("body", ""))
    if verb in STATE_VERBS:
        text = STATE_VERBS[verb]
        if verb == "incident.resolved" and data.get("note"):
            text += f": {data['note']}"
        if verb == "incident.merged" and data.get("into"):
            text = f"Merged into incident #{data['into']}"
        return TimelineKind.STATE, text
    if verb in PAGE_VERBS:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(data.items()) if isinstance(v, str | int))
        return TimelineKind.PAGE, f"{PAGE_VERBS[verb]} ({detail})" if detail else PAGE_VERBS[verb]
    if verb.startswith(SLA_PREFIX):
        return TimelineKind.SLA, verb.removeprefix(SLA_PREFIX).replace("_", " ").capitalize()
    if verb in PEOPLE_VERBS:
        return TimelineKind.PEOPLE, PEOPLE_VERBS[verb]
    if verb == RUNBOOK_STEP:
        text = _runbook_step(data)
    else:
        text = verb.removeprefix("incident.").replace("_", " ").capitalize()
    return TimelineKind.OTHER, text


def _runbook_step(data: dict) -> str:
    """Which step of which runbook: what a reader of the postmortem wants to know was done."""
    return (
        f"Ticked runbook step {data.get('step')} of {data.get('title', 'a runbook')}: {data.get('text', '')}"
    )


def ledger_rows(incidents) -> list[Row]:
    rows = []
    for incident in incidents:
        for entry in timeline_for(incident):
            kind, text = _kind_and_text(entry)
            rows.append(
                Row(
                    incident_id=incident.pk,
                    sequence=entry.sequence,
                    entry_hash=entry.entry_hash,
                    verb=entry.verb,
                    kind=kind,
                    actor_type=entry.actor_type,
                    actor_id=entry.actor_id,
                    actor_label=entry.actor_label,
                    occurred_at=entry.created_at,
                    text=text[:TEXT_LIMIT],
                )
            )
    return sorted(rows, key=lambda row: row.sequence)


def _first(rows, verb, incident_id=None):
    return next(
        (r.occurred_at for r in rows if r.verb == verb and incident_id in (None, r.incident_id)), None
    )


def facts_from(rows: list[Row], incidents, primary) -> dict:
    """Impact window (first trigger to last resolve of any incident), MTTA/MTTR of the primary
    incident, SLA outcome, services, responders (people who acted, in order of first action)."""
    triggers = [r.occurred_at for r in rows if r.verb == "incident.triggered"]
    resolves = [r.occurred_at for r in rows if r.verb == "incident.resolved"]
    start = min(triggers) if triggers else None
    end = max(resolves) if resolves else None
    triggered = _first(rows, "incident.triggered", primary.pk)
    acknowledged = _first(rows, "incident.acknowledged", primary.pk)
    resolved = max(
        (r.occurred_at for r in rows if r.verb == "incident.resolved" and r.incident_id == primary.pk),
        default=None,
    )
    breaches = sorted({r.verb.removeprefix(SLA_PREFIX) for r in rows if r.verb.endswith("_breached")})
    if breaches:
        sla = "breached: " + ", ".join(b.removesuffix("_breached") for b in breaches)
    elif any(i.sla_policy_id for i in incidents):
        sla = "met"
    else:
        sla = "no SLA policy"
    responders = []
    for row in rows:
        if row.actor_type == ActorKind.USER and row.actor_label and row.actor_label not in responders:
            responders.append(row.actor_label)
    services = sorted({i.service.name for i in incidents if i.service_id})
    return {
        "impact_start": start.isoformat() if start else None,
        "impact_end": end.isoformat() if end else None,
        "impact_seconds": int((end - start).total_seconds()) if start and end else None,
        "mtta_seconds": int((acknowledged - triggered).total_seconds())
        if triggered and acknowledged
        else None,
        "mttr_seconds": int((resolved - triggered).total_seconds()) if triggered and resolved else None,
        "sla": sla,
        "services": services,
        "responders": responders,
        "incidents": sorted(i.pk for i in incidents),
    }
