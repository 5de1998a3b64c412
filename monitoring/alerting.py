"""Monitors open and resolve incidents through the ingestion pipeline, one dedup key per monitor.

Each (organization, service) gets one webhook-kind integration ("Monitors: <service>") created on
first use, with the service as its default route: routing rules, maintenance windows, dedup,
escalation and SLA then apply to monitors exactly as to every other alert source.
"""

from __future__ import annotations

from django.db import transaction

from incidents.ingest.alert_event import AlertEvent, EventAction
from incidents.ingest.pipeline import IngestResult, ingest
from incidents.ingest.services.integrations import integration_create
from incidents.models import Integration, IntegrationKind
from monitoring.models import IncidentSource, Monitor
from opsplatform.core.actors import Actor


def dedup_key(monitor: Monitor) -> str:
    if monitor.legacy_integration_id:  # a heartbeat integration's monitor keeps its incidents (legacy.py)
        return f"heartbeat:{monitor.legacy_integration_id}"
    return f"monitor:{monitor.pk}"


def _integration_name(organization, service) -> str:
    base = f"Monitors: {service.name}" if service else "Monitors"
    name, n = base[:140], 2
    while Integration.objects.filter(organization=organization, name=name).exists():
        name, n = f"{base[:130]} ({n})", n + 1
    return name


def source_integration(monitor: Monitor) -> Integration:
    if monitor.legacy_integration_id:
        return Integration.objects.select_related("organization", "service").get(
            pk=monitor.legacy_integration_id
        )
    found = (
        IncidentSource.objects.select_related("integration__organization", "integration__service")
        .filter(organization_id=monitor.organization_id, service_id=monitor.service_id)
        .first()
    )
    if found is not None:
        return found.integration
    with transaction.atomic():
        organization = monitor.organization
        issued = integration_create(
            actor=Actor.system("monitoring", organization=organization),
            name=_integration_name(organization, monitor.service),
            kind=IntegrationKind.WEBHOOK,
            service=monitor.service,
        )
        IncidentSource.objects.create(
            organization=organization, service=monitor.service, integration=issued.integration
        )
    return issued.integration


def trigger(monitor: Monitor, *, now, flapping: bool) -> IngestResult:
    if flapping:
        title = f"Monitor flapping: {monitor.name}"
        description = (
            f"{monitor.name} ({monitor.get_kind_display()} {monitor.target}) keeps changing state. "
            "It will not alert again until it is stable."
        )
    else:
        title = f"Monitor down: {monitor.name}"
        description = f"{monitor.get_kind_display()} {monitor.target}: {monitor.last_message}"
    event = AlertEvent(
        action=EventAction.TRIGGER,
        dedup_key=dedup_key(monitor),
        title=title,
        description=description,
        source="monitoring",
        labels={"monitor": monitor.name, "kind": monitor.kind, "flapping": "yes" if flapping else "no"},
        occurred_at=now,
    )
    return ingest(integration=source_integration(monitor), events=[event], now=now)


def resolve(monitor: Monitor, *, now) -> IngestResult:
    event = AlertEvent(action=EventAction.RESOLVE, dedup_key=dedup_key(monitor), occurred_at=now)
    return ingest(integration=source_integration(monitor), events=[event], now=now)
