""" "Send a test event": a realistic payload of the integration's kind, through the ingestion path.

The body is parsed by the kind's own parser and handed to ``pipeline.ingest`` exactly as the HTTP
endpoint does after authenticating the key (which is not stored in clear, so the request itself
cannot be replayed). It produces a real incident, marked as a test twice over: the title starts
with "[Test]" and the alert carries the label ``test=true``. Each test event has its own dedup key,
so it opens a new incident instead of joining a real one. The person who sent it is recorded in the
ledger next to the entries the integration's pipeline writes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.ingest.alert_event import AlertEvent, EventAction, PayloadError
from incidents.ingest.formats import alertmanager, grafana, pagerduty, webhook
from incidents.ingest.pipeline import IngestResult, RawBody, ingest
from incidents.ingest.samples import TEST_TITLE_PREFIX, sample_document
from incidents.models import Integration, IntegrationKind
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

TEST_LABEL = "test"
PARSERS = {
    IntegrationKind.ALERTMANAGER: alertmanager.parse,
    IntegrationKind.GRAFANA: grafana.parse,
    IntegrationKind.PAGERDUTY: pagerduty.parse,
    IntegrationKind.WEBHOOK: webhook.parse,
}


@dataclass(frozen=True)
class SentTestEvent:
    integration: Integration
    outcome: IngestResult


def _events(integration: Integration, dedup_key: str, title: str) -> tuple[list[AlertEvent], bytes]:
    if integration.kind == IntegrationKind.HEARTBEAT:
        # A ping only resolves; what a heartbeat raises is the missed-ping alert, so that is the test.
        event = AlertEvent(
            action=EventAction.TRIGGER,
            dedup_key=dedup_key,
            title=f"{title}: heartbeat missed for {integration.name}",
            description="A test of what a missed heartbeat raises; the heartbeat timer is untouched.",
            source="heartbeat",
            labels={"integration": integration.name, "kind": "heartbeat"},
            occurred_at=timezone.now(),
        )
        body = json.dumps({"test_event": True, "simulates": "missed heartbeat", "title": event.title})
        return [event], body.encode()
    # A routing key stands in for the real one (never stored in clear); the parser does not read it.
    document = sample_document(integration, dedup_key=dedup_key, title=title, key="opi_test-event")
    body = json.dumps(document, ensure_ascii=False).encode()
    try:
        events = PARSERS[integration.kind](json.loads(body), integration=integration)
    except PayloadError as exc:  # a webhook mapping that cannot read any document
        raise ValidationError(f"A test payload does not fit this integration's mapping: {exc}") from exc
    return events, body


def integration_send_test_event(*, actor: Actor, integration: Integration) -> SentTestEvent:
    actor.require(Capability.INTEGRATION_MANAGE)
    if integration.organization_id != actor.organization.pk:
        raise ValidationError({"integration": "Not found."})
    if not integration.enabled:
        raise ValidationError("This integration is disabled: enable it to send a test event.")
    marker = uuid.uuid4().hex[:12]
    dedup_key = f"test-{marker}"
    events, body = _events(integration, dedup_key, f"{TEST_TITLE_PREFIX} Test event from {integration.name}")
    for event in events:
        event.labels = {**event.labels, TEST_LABEL: "true"}
        if not event.title.startswith(TEST_TITLE_PREFIX):
            event.title = f"{TEST_TITLE_PREFIX} {event.title}"
    notes = {"test_event": True, "sent_by": actor.label}
    with transaction.atomic():
        outcome = ingest(
            integration=integration,
            events=events,
            raw=RawBody(body=body, content_type="application/json", notes=notes),
        )
        record(
            actor=actor,
            verb="integration.test_event_sent",
            target=integration,
            data={
                "payload": str(outcome.payload_id),
                "dedup_key": dedup_key,
                "incidents": outcome.incident_ids,
                "outcomes": {k: v for k, v in outcome.summary().items() if v},
            },
        )
    return SentTestEvent(integration=integration, outcome=outcome)
