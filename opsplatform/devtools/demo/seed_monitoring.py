"""Monitors of a demo organization: a few of each kind against safe targets, and two heartbeats.

Targets are the demo platform itself (its ``/healthz``, its login page, its port), IANA's reserved
``example.com``, and loopback for ping. The SSRF guard refuses loopback unless the deployment allows
it (``OUTBOUND_ALLOWED_NETWORKS=127.0.0.0/8``); without that the monitors of the demo's own address
are created paused (with ``localhost`` for the address), so the demo does not page anyone about its
own guard. Created once per name.
"""

from urllib.parse import urlsplit

from django.conf import settings

from incidents.models import Service
from monitoring import services
from monitoring.models import Monitor
from opsplatform.core import http
from opsplatform.core.actors import Actor


def _specs(base: str, loopback: str) -> list[dict]:
    parts = urlsplit(base)
    # A SITE_URL without a port (behind a proxy on 80/443) still names one for the TCP monitor.
    default_port = 443 if parts.scheme == "https" else 80
    host_port = f"{parts.hostname}:{parts.port or default_port}" if parts.hostname else f"{loopback}:8000"
    return [
        {"name": "Platform health", "kind": "http", "target": f"{base}/healthz", "interval_seconds": 30,
         "assertions": {"expected_status": [200]}, "own": True},
        {"name": "Platform sign-in page", "kind": "http", "target": f"{base}/accounts/login/",
         "interval_seconds": 60, "degraded_latency_ms": 500, "own": True},
        {"name": "Platform port", "kind": "tcp", "target": host_port, "interval_seconds": 60, "own": True},
        {"name": "example.com", "kind": "http", "target": "https://example.com/", "interval_seconds": 300,
         "assertions": {"body_contains": "Example Domain", "tls_expiry_days": 14}, "down_after": 3},
        {"name": "example.com TCP 443", "kind": "tcp", "target": "example.com:443", "interval_seconds": 300},
        {"name": "example.com DNS", "kind": "dns", "target": "example.com", "interval_seconds": 300,
         "assertions": {"record_type": "A"}},
        {"name": "Loopback ping", "kind": "ping", "target": loopback, "interval_seconds": 60, "own": True},
        {"name": "Nightly backup", "kind": "heartbeat", "target": "backup job", "interval_seconds": 3600,
         "assertions": {"period": 86400, "grace": 3600}, "service": "Payments API", "pinged": True},
        {"name": "Hourly billing export", "kind": "heartbeat", "target": "billing export",
         "interval_seconds": 600, "assertions": {"cron": "5 * * * *", "tz": "Europe/Berlin", "grace": 900}},
    ]  # fmt: skip


def seed_monitoring(org) -> int:
    """Create the demo monitors that do not exist yet; returns how many were created."""
    actor = Actor.system("seed_demo", organization=org)
    loopback_allowed = not http.is_refused_address("127.0.0.1")
    existing = set(Monitor.objects.filter(organization=org).values_list("name", flat=True))
    created = 0
    base, loopback = settings.SITE_URL, "127.0.0.1"
    if not loopback_allowed:
        # A refused literal address is a form error; a name is vetted (and refused) at connect time.
        base, loopback = base.replace("://127.0.0.1", "://localhost"), "localhost"
    for spec in _specs(base, loopback):
        values = dict(spec)
        own, pinged = values.pop("own", False), values.pop("pinged", False)
        if values["name"] in existing:
            continue
        service_name = values.pop("service", None)
        if service_name:
            values["service"] = Service.objects.filter(organization=org, name=service_name).first()
        monitor = services.monitor_create(actor=actor, **values)
        if own and not loopback_allowed:
            services.monitor_pause(actor=actor, monitor=monitor)
        if pinged:  # its last run reported in: up from the start
            services.heartbeat_ping(key=monitor.issued_ping_key)
        created += 1
    return created
