"""A published status page for a demo organization: components grouped and bound to monitors that
probe the demo itself (``SITE_URL``) and to the demo services, 90 days of hourly uptime behind the
bars, a resolved incident with its public updates and a maintenance scheduled for next Sunday.

The monitors are the demo's own (``seed_monitoring``): they probe loopback, which the SSRF guard
refuses unless ``OUTBOUND_ALLOWED_NETWORKS`` allows it (``make run`` allows it; elsewhere they are
seeded paused). Idempotent: nothing is
added once the organization has a status page.
"""

from __future__ import annotations

import random
from datetime import UTC, timedelta

from django.db import transaction
from django.utils import timezone

from incidents.models import Service
from monitoring.models import Monitor, Rollup
from monitoring.statuspages import services
from monitoring.statuspages.models import StatusNotice, StatusNoticeUpdate, StatusPage
from opsplatform.core.actors import Actor

# The demo monitors (seed_monitoring, which runs first) the components are bound to.
MONITORS = ["Platform health", "Platform port", "Platform sign-in page"]
# (group, component, monitors, services)
COMPONENTS = [
    ("Platform", "Web app", ["Platform health"], []),
    ("Platform", "Public API", ["Platform port"], ["Payments API"]),
    ("Platform", "Sign-in", ["Platform sign-in page"], ["Auth"]),
    ("Commerce", "Checkout", [], ["Orders"]),
    ("Commerce", "Search", [], ["Search"]),
]
INCIDENT_UPDATES = [
    ("investigating", "Some customers cannot sign in. We are investigating.", 0),
    (
        "identified",
        "A certificate rotation left one sign-in node with an outdated chain; it is out of rotation.",
        25,
    ),
    ("resolved", "Sign-in works for everyone again. We are adding a chain check to the rotation.", 70),
]


def _history(monitor: Monitor, rng: random.Random, now) -> None:
    """Hourly rollups for the last 90 days: mostly clean, a few bad hours."""
    if Rollup.objects.filter(monitor=monitor, period="hour").exists():
        return
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=90)
    checks = 3600 // monitor.interval_seconds
    rows = []
    for hour in range(90 * 24):
        failures = 0
        roll = rng.random()
        if roll < 0.004:
            failures = rng.randint(checks // 4, checks)
        elif roll < 0.02:
            failures = rng.randint(1, 3)
        rows.append(
            Rollup(
                monitor=monitor,
                period="hour",
                start=start + timedelta(hours=hour),
                checks=checks,
                failures=failures,
                latency_p50=rng.uniform(8, 25),
                latency_p95=rng.uniform(30, 90),
            )
        )
    Rollup.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def seed_status_pages(org, people: dict) -> None:
    if StatusPage.objects.filter(organization=org).exists():
        return
    manager = Actor.for_member(people["manager"], org)
    operator = Actor.for_member(people["operator"], org)
    now = timezone.now()
    rng = random.Random(org.slug)
    monitors = {m.name: m for m in Monitor.objects.filter(organization=org, name__in=MONITORS)}
    for monitor in monitors.values():
        _history(monitor, rng, now)
    catalog = {s.name: s for s in Service.objects.filter(organization=org)}
    page = services.page_create(
        actor=manager,
        title=f"{org.name} status",
        description="Live state of our services, incidents and planned maintenance.",
        published=True,
    )
    components = {}
    for group, name, monitor_names, service_names in COMPONENTS:
        components[name] = services.component_create(
            actor=manager,
            page=page,
            name=name,
            group=group,
            monitors=[monitors[m] for m in monitor_names if m in monitors],
            services=[catalog[s] for s in service_names if s in catalog],
        )
    opened_at = now - timedelta(days=3, hours=5)
    notice = services.notice_open(
        actor=operator,
        page=page,
        title="Sign-in failures for some customers",
        body=INCIDENT_UPDATES[0][1],
        component_status="partial_outage",
        impact="major",
        components=[components["Sign-in"]],
        notify=False,
    )
    for status, body, _ in INCIDENT_UPDATES[1:]:
        services.notice_update(actor=operator, notice=notice, status=status, body=body, notify=False)
    # Demo history: the notice happened three days ago, its updates minutes apart.
    for update, (_, _, minutes) in zip(
        notice.updates.order_by("created_at", "pk"), INCIDENT_UPDATES, strict=True
    ):
        StatusNoticeUpdate.objects.filter(pk=update.pk).update(
            created_at=opened_at + timedelta(minutes=minutes)
        )
    StatusNotice.objects.filter(pk=notice.pk).update(
        created_at=opened_at,
        updated_at=opened_at + timedelta(minutes=70),
        resolved_at=opened_at + timedelta(minutes=70),
    )
    days_to_sunday = (6 - now.weekday()) % 7 or 7
    sunday = (
        (now + timedelta(days=days_to_sunday))
        .astimezone(UTC)
        .replace(hour=2, minute=0, second=0, microsecond=0)
    )
    services.maintenance_schedule(
        actor=operator,
        page=page,
        title="Checkout database upgrade",
        body="Checkout may answer slowly for up to an hour while the database is upgraded.",
        scheduled_for=sunday,
        scheduled_until=sunday + timedelta(hours=1),
        components=[components["Checkout"]],
        notify=False,
    )
