"""What a request leaves behind once its batch has handled every event: the raw payload, the resolves
and acknowledgements applied, the ledger entries and the realtime events. Runs in the request's
transaction, after ``Batch.handle``."""

from __future__ import annotations

from django.db import transaction

from audit.services import record, record_many
from incidents.eventlogs import RAW_PAYLOADS
from incidents.ingest import sql
from incidents.ingest.batch import Batch, Touched
from incidents.ingest.escalate_soon import escalate_soon
from incidents.ingest.results import EventResult, RawBody
from incidents.ingest.sql import deactivate_alerts, execute, fetchone
from incidents.models import OPEN_STATUSES, Incident, RawPayload
from incidents.realtime import publish_incident, publish_triggered
from incidents.services.lifecycle import incident_acknowledge, incident_resolve

MAX_LEDGER_KEYS = 20


def finish(batch: Batch, raw: RawBody | None, results: list[EventResult]) -> None:
    """Store the raw payload, then the ledger entries and the state changes that write their own.
    The ledger's per-organization lock is held from the first entry until commit, and every other
    request of the organization that writes one waits for it: nothing else is done after it but
    what must follow it."""
    batch.flush()
    if raw is not None:
        payload = RawPayload(
            id=batch.payload_id,
            organization_id=batch.organization_id,
            integration_id=batch.integration.pk,
            received_at=batch.now,
            result=[r.as_dict() for r in results[:500]] + ([raw.notes] if raw.notes else []),
            **raw.stored_fields(),
        )
        RAW_PAYLOADS.append([payload])
    created = [touched.incident for touched in batch.touched.values() if touched.created]
    # Triggers and attachments of every incident are appended together: one chain lock, one head
    # read and one INSERT however many incidents a batch of alerts opened. Resolves and
    # acknowledgements follow, so an incident's trigger always precedes its resolve in the chain.
    entries = []
    for touched in sorted(batch.touched.values(), key=lambda t: t.incident.pk):
        if touched.created:
            entries.append(_created_entry(touched))
        elif touched.attached:
            data = {"count": len(touched.attached), "dedup_keys": touched.attached[:MAX_LEDGER_KEYS]}
            entries.append((touched.incident, "incident.alerts_attached", data))
            publish_incident(touched.incident, "incident.alerts_attached")
    if entries:
        record_many(actor=batch.actor, entries=entries)
    for incident_id, touched in sorted(batch.touched.items()):
        if touched.resolved:
            _settle_resolved(batch, incident_id, touched)
        if touched.acknowledge:
            _acknowledge(batch, touched)
    publish_triggered(batch.organization_id, created)
    if any(incident.next_escalation_at is not None for incident in created):
        transaction.on_commit(escalate_soon, robust=True)


def _created_entry(touched: Touched) -> tuple:
    incident = touched.incident
    return (
        incident,
        "incident.triggered",
        {
            "title": incident.title,
            "severity": incident.severity,
            "priority": incident.priority,
            "service": incident.service_id,
            "team": incident.team_id,
            "source": incident.source,
            "dedup_key": incident.dedup_key,
            "alerts": 1 + len(touched.attached),
        },
    )


def _settle_resolved(batch: Batch, incident_id: int, touched: Touched) -> None:
    # Counted from the rows, not by decrements: merges move alerts between incidents without
    # adjusting counters, and the decision to resolve must rest on the truth.
    firing, total = fetchone(sql.COUNT_ALERTS, [incident_id])
    execute(sql.SET_ALERT_COUNTERS, [firing, total, batch.now, incident_id])
    if firing == 0 and batch.integration.auto_resolve:
        incident = Incident.objects.get(pk=incident_id)
        incident_resolve(actor=batch.actor, incident=incident, note="All alerts resolved.")
        deactivate_alerts(incident_id)
        return
    record(
        actor=batch.actor,
        verb="incident.alerts_resolved",
        target=touched.incident,
        data={
            "count": len(touched.resolved),
            "dedup_keys": touched.resolved[:MAX_LEDGER_KEYS],
            "still_firing": firing,
        },
    )
    publish_incident(touched.incident, "incident.alerts_resolved")


def _acknowledge(batch: Batch, touched: Touched) -> None:
    incident = Incident.objects.get(pk=touched.incident.pk)
    if incident.status not in OPEN_STATUSES:
        return
    # The integration acknowledges on behalf of whoever acted in the source tool; the state machine
    # decides as for a person (already acknowledged is a no-op).
    incident_acknowledge(actor=batch.actor, incident=incident)
