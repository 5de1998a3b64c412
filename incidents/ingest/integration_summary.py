"""What pages, the API and the demo show about an integration: its ingestion URL and live counters."""

from django.conf import settings
from django.urls import reverse

from incidents.ingest import counters
from incidents.models import Integration, IntegrationKind

ENDPOINT_NAMES = {
    IntegrationKind.ALERTMANAGER: "ingest:alertmanager",
    IntegrationKind.GRAFANA: "ingest:grafana",
    IntegrationKind.WEBHOOK: "ingest:webhook",
    IntegrationKind.HEARTBEAT: "ingest:heartbeat",
}
_PLACEHOLDER = "opi_KEYPLACEHOLDER000000"


def ingestion_url(kind: str, key: str | None = None) -> str:
    """Where a sender posts: with ``key`` the full URL, else with ``<key>`` standing for it.

    PagerDuty clients take a base URL and send the key in the body as ``routing_key``."""
    if kind == IntegrationKind.PAGERDUTY:
        return f"{settings.SITE_URL}{reverse('pagerduty-enqueue')}"
    path = reverse(ENDPOINT_NAMES[kind], kwargs={"key": key or _PLACEHOLDER})
    url = f"{settings.SITE_URL}{path}"
    return url if key else url.replace(_PLACEHOLDER, "<key>")


def integration_counters(integration: Integration) -> dict:
    """Stored counters plus what is still waiting in Redis for the next flush."""
    waiting = counters.pending(integration.pk)
    last = [t for t in (integration.last_received_at, waiting.get("last")) if t]
    return {
        "received": integration.received_count + waiting.get("received", 0),
        "deduplicated": integration.deduplicated_count + waiting.get("deduplicated", 0),
        "dropped": integration.dropped_count + waiting.get("dropped", 0),
        "last_received_at": max(last) if last else None,
    }
