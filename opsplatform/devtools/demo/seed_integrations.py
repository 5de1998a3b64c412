"""One integration of each kind per demo organization, with fixed keys so scripts and docs can use them.

The keys are demo values for local evaluation, like the demo API tokens: ``seed_demo --json`` lists
each integration's kind, full ingestion URL and key. Also seeded: the routing rule the issue asks
for (Alertmanager alerts with ``service=payment`` that are firing go to the Payments API at SEV1) and
a weekly maintenance window for the Search service.

Try it (Acme, after ``make run``)::

    curl -X POST http://127.0.0.1:8000/v2/enqueue -H 'Content-Type: application/json' -d '{
      "routing_key": "opi_demo_acme_pagerduty_7c41d9e2a5b8f036",
      "event_action": "trigger", "dedup_key": "disk-db-1",
      "payload": {"summary": "Disk 91% full on db-1", "source": "db-1", "severity": "error"}}'
"""

from datetime import time

from django.db import transaction

from incidents.ingest import services
from incidents.ingest.integration_summary import ingestion_url
from incidents.ingest.keys import key_digest
from incidents.models import Integration, IntegrationKind, MaintenanceWindow, Recurrence, Service
from opsplatform.core.actors import Actor

# (kind, name, default service name, extra settings)
SPECS = [
    (IntegrationKind.ALERTMANAGER, "Prometheus Alertmanager", "Payments API", {}),
    (IntegrationKind.GRAFANA, "Grafana alerting", "Auth", {}),
    (IntegrationKind.PAGERDUTY, "PagerDuty-compatible events", "Orders", {}),
    (
        IntegrationKind.WEBHOOK,
        "Generic webhook",
        "Search",
        {
            "webhook_mapping": {
                "title": "{{ /check }} failed on {{ /host }}",
                "dedup_key": "/id",
                "severity": "/level",
                "severity_map": {"P1": "sev1", "P2": "sev2", "P3": "sev3"},
                "status": "/state",
                "description": "/message",
                "source": "/host",
                "labels": "/tags",
            }
        },
    ),
    (
        IntegrationKind.HEARTBEAT,
        "Nightly backup heartbeat",
        "Orders",
        {"heartbeat_period_seconds": 86400, "heartbeat_grace_seconds": 3600},
    ),
]

KEYS = {
    "acme": {
        IntegrationKind.ALERTMANAGER: "opi_demo_acme_alertmanager_3f8a1c6d9e2b4705",
        IntegrationKind.GRAFANA: "opi_demo_acme_grafana_b2e94d1a7c6f3058",
        IntegrationKind.PAGERDUTY: "opi_demo_acme_pagerduty_7c41d9e2a5b8f036",
        IntegrationKind.WEBHOOK: "opi_demo_acme_webhook_e5a07b3c1d9f2846",
        IntegrationKind.HEARTBEAT: "opi_demo_acme_heartbeat_94c2f6a8e1b7d035",
    },
    "globex": {
        IntegrationKind.ALERTMANAGER: "opi_demo_globex_alertmanager_6d1b8e4f2a9c7350",
        IntegrationKind.GRAFANA: "opi_demo_globex_grafana_0a7e3c5b9d2f6148",
        IntegrationKind.PAGERDUTY: "opi_demo_globex_pagerduty_c8f25a1e7b4d9063",
        IntegrationKind.WEBHOOK: "opi_demo_globex_webhook_3b9d6f0c2e8a5171",
        IntegrationKind.HEARTBEAT: "opi_demo_globex_heartbeat_5e2c7a9f1b3d8064",
    },
}


def _services(org) -> dict[str, Service]:
    return {service.name: service for service in Service.objects.filter(organization=org)}


@transaction.atomic
def seed_integrations(org) -> list[dict]:
    """Create what is missing (idempotent); returns ``[{"kind", "name", "url", "key"}]``."""
    system = Actor.system("seed_demo", organization=org)
    catalog = _services(org)
    keys = KEYS.get(org.slug, {})
    listed = []
    for kind, name, service_name, extra in SPECS:
        key = keys.get(kind)
        integration = Integration.objects.filter(organization=org, name=name).first()
        if integration is None:
            integration = services.integration_create(
                actor=system, name=name, kind=kind, service=catalog.get(service_name), key=key, **extra
            ).integration
            if kind == IntegrationKind.ALERTMANAGER and "Payments API" in catalog:
                services.routing_rule_create(
                    actor=system,
                    integration=integration,
                    name="Payment alerts page the payment team at SEV1",
                    matchers=[
                        {"field": "labels.service", "op": "equals", "value": "payment"},
                        {"field": "status", "op": "equals", "value": "firing"},
                    ],
                    route_service=catalog["Payments API"],
                    set_severity="sev1",
                )
        # A rotated demo key is no longer the documented one: say so rather than print a dead key.
        current = key if key and integration.key_hash == key_digest(key) else None
        listed.append(
            {
                "kind": kind.value,
                "name": name,
                "url": ingestion_url(kind, current) if current else ingestion_url(kind),
                "key": current,
            }
        )
    if "Search" in catalog and not MaintenanceWindow.objects.filter(organization=org).exists():
        services.maintenance_window_create(
            actor=system,
            name="Search index rebuild (weekly)",
            service=catalog["Search"],
            recurrence=Recurrence.WEEKLY,
            weekdays=[6],
            start_time=time(2, 0),
            duration_minutes=120,
            time_zone=org.time_zone or "UTC",
        )
    return listed
