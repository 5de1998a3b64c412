"""Services, SLA policies and 90 days of incidents for a demo organization (once per organization).

History is written as rows with past timestamps (the services stamp "now"), plus one ledger entry
saying so; the open incidents at the end go through the real services like any other.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents import services as incident_services
from incidents.models import Incident, Service, SLAPolicy, Status
from opsplatform.accounts.models import Team
from opsplatform.core.actors import Actor

SERVICES = [
    ("Payments API", "tier1", "sev2", 0),
    ("Auth", "tier1", "sev2", 1),
    ("Orders", "tier2", "sev3", 0),
    ("Search", "tier3", "sev3", 1),
]
TITLES = [
    "Error rate above 5% on {s}",
    "p99 latency over 2s on {s}",
    "{s} pods crash-looping",
    "Disk usage above 90% on {s} database",
    "Certificate for {s} expires in 7 days",
    "{s} queue backlog growing",
]
OPEN = [
    ("Payments API", "Card authorizations failing for EU issuers", "sev1", Status.TRIGGERED),
    ("Auth", "Login latency degraded", "sev2", Status.ACKNOWLEDGED),
    ("Search", "Index rebuild stuck", "sev3", Status.TRIGGERED),
]


@transaction.atomic
def seed_incidents(org, people: dict) -> None:
    if Service.objects.filter(organization=org).exists():
        return
    system = Actor.system("seed_demo", organization=org)
    teams = list(Team.objects.filter(organization=org).order_by("pk"))
    catalog = {}
    for name, tier, severity, team_index in SERVICES:
        catalog[name] = incident_services.service_create(
            actor=system,
            name=name,
            tier=tier,
            default_severity=severity,
            owner_team=teams[team_index % len(teams)] if teams else None,
            runbook_links=[
                {
                    "title": f"{name} runbook",
                    "url": f"https://runbooks.example.test/{name.lower().replace(' ', '-')}",
                }
            ],
        )
    SLAPolicy.objects.create(
        organization=org, name="Default", ack_target_minutes=15, resolve_target_minutes=240
    )
    SLAPolicy.objects.create(
        organization=org, name="SEV1", severity="sev1", ack_target_minutes=5, resolve_target_minutes=60
    )
    rng = random.Random(org.slug)  # same history on every machine
    now = timezone.now()
    history = []
    for day in range(90, 0, -1):
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            service = catalog[rng.choice(list(catalog))]
            created = now - timedelta(days=day, minutes=rng.randint(0, 1400))
            acked = created + timedelta(minutes=rng.randint(1, 40))
            resolved = acked + timedelta(minutes=rng.randint(10, 600))
            history.append(
                Incident(
                    organization=org,
                    title=rng.choice(TITLES).format(s=service.name),
                    service=service,
                    team=service.owner_team,
                    severity=rng.choice(["sev1", "sev2", "sev3", "sev3", "sev4"]),
                    status=Status.RESOLVED,
                    source="demo",
                    created_at=created,
                    updated_at=resolved,
                    acknowledged_at=acked,
                    acknowledged_by=people["operator"],
                    resolved_at=resolved,
                    resolved_by=people["operator"],
                    resolution_note="Mitigated (demo history).",
                )
            )
    Incident.objects.bulk_create(history)
    record(actor=system, verb="demo.history_seeded", target=org, data={"incidents": len(history)})
    operator = Actor.for_member(people["operator"], org)
    for service_name, title, severity, status in OPEN:
        incident = incident_services.incident_create(
            actor=operator, title=title, service=catalog[service_name], severity=severity, source="demo"
        )
        if status == Status.ACKNOWLEDGED:
            incident_services.incident_acknowledge(actor=operator, incident=incident)
