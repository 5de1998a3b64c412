"""What the incident page shows about the alerts behind an incident: where they came from, the links
their source sent (Alertmanager's ``generatorURL``, Grafana's panel and dashboard, PagerDuty's
``links``), and their labels, annotations and custom details as tables.

Ingestion keeps labels and links on the alert row; annotations and PagerDuty's ``custom_details``
live only in the raw payload (kept for a retention period), so they are read from there while it
exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from incidents.eventlogs import RAW_PAYLOADS
from incidents.models import Alert, Incident, IntegrationKind

MAX_ROWS = 100
MAX_LINKS = 20
# Annotations the page already shows as the alert's title and description.
SHOWN_ANNOTATIONS = {"summary", "description"}


@dataclass
class DetailSection:
    title: str
    rows: list[tuple[str, str]]


@dataclass
class AlertFacts:
    alert: Alert | None = None
    integration: object | None = None
    links: list[dict] = field(default_factory=list)
    sections: list[DetailSection] = field(default_factory=list)


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _rows(mapping) -> list[tuple[str, str]]:
    if not isinstance(mapping, dict):
        return []
    return [(str(key), _text(value)) for key, value in sorted(mapping.items())][:MAX_ROWS]


def _payload(alert: Alert):
    if not alert.raw_payload_id:
        return None
    raw = RAW_PAYLOADS.get({"id": alert.raw_payload_id, "organization_id": alert.organization_id})
    if raw is None:
        return None  # expired: labels and links on the alert row remain
    try:
        return json.loads(raw.body)
    except (TypeError, ValueError):
        return None


def _annotations(alert: Alert, body) -> dict:
    """The annotations of this alert in an Alertmanager or Grafana group notification."""
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
        return {}
    for item in body["alerts"]:
        if not isinstance(item, dict):
            continue
        same = item.get("fingerprint") == alert.fingerprint or item.get("labels") == alert.labels
        if same and isinstance(item.get("annotations"), dict):
            return {k: v for k, v in item["annotations"].items() if k not in SHOWN_ANNOTATIONS}
    return {}


def _custom_details(alert: Alert, body) -> dict:
    """PagerDuty's ``payload.custom_details``; ingestion also keeps them as the alert's description."""
    payload = body.get("payload") if isinstance(body, dict) else None
    details = payload.get("custom_details") if isinstance(payload, dict) else None
    if isinstance(details, dict):
        return details
    try:
        parsed = json.loads(alert.description)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def alert_facts(incident: Incident) -> AlertFacts:
    alerts = list(incident.alerts.select_related("integration").order_by("-last_seen_at")[:20])
    facts = AlertFacts()
    seen = set()
    for alert in alerts:
        for item in alert.links or []:
            href = item.get("href") if isinstance(item, dict) else None
            if href and href not in seen and len(facts.links) < MAX_LINKS:
                seen.add(href)
                facts.links.append({"href": href, "text": item.get("text") or href})
    if not alerts:
        if incident.labels:
            facts.sections.append(DetailSection("Labels", _rows(incident.labels)))
        return facts
    latest = alerts[0]
    facts.alert, facts.integration = latest, latest.integration
    body = _payload(latest)
    kind = latest.integration.kind if latest.integration else ""
    if latest.labels:
        facts.sections.append(DetailSection("Labels", _rows(latest.labels)))
    if kind in (IntegrationKind.ALERTMANAGER, IntegrationKind.GRAFANA):
        annotations = _annotations(latest, body)
        if annotations:
            facts.sections.append(DetailSection("Annotations", _rows(annotations)))
    if kind == IntegrationKind.PAGERDUTY:
        details = _custom_details(latest, body)
        if details:
            facts.sections.append(DetailSection("Custom details", _rows(details)))
    return facts
