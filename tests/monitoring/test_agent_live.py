"""A real probe agent process (``python -m monitoring.agent``) against the platform served by the
real ASGI server: it leases its location's checks over HTTP, probes a loopback peer, reports; the
monitor follows its results, recorded under the location's name."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.locations.models import MonitorLocation
from monitoring.locations.services import location_create, monitor_set_locations
from monitoring.models import CheckResult, Monitor
from tests.monitoring.peers import http_peer
from tests.servers import BASE_DIR, asgi_server, database_url


def _wait_for(condition, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
def test_an_agent_process_checks_from_its_location(make_monitor, actor_as, settings, tmp_path):
    issued = location_create(actor=actor_as("manager"), name="branch-office")
    with http_peer() as web, asgi_server() as server:
        web.route("/health", body=b"ok")
        monitor = make_monitor(name="shop", target=web.url + "/health", interval_seconds=10, down_after=1)
        monitor_set_locations(
            actor=actor_as("manager"), monitor=monitor, locations=["branch-office"], quorum=1
        )
        log = (tmp_path / "agent.log").open("wb")
        agent = subprocess.Popen(
            [sys.executable, "-m", "monitoring.agent", "--server", server.url, "--every", "0.5"],
            cwd=BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "opsplatform.test_settings",
                "DATABASE_URL": database_url(),  # unused by the agent; the settings want one
                "OPS_AGENT_TOKEN": issued.token,
                "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            reported = CheckResult.objects.filter(monitor=monitor, location="branch-office")
            assert _wait_for(reported.exists), (tmp_path / "agent.log").read_text()[-3000:]
            monitor.refresh_from_db()
            assert monitor.state == "up"
            assert [h[1] for h in web.hits][:1] == ["/health"]

            web.route("/health", status=503, body=b"down")
            MonitorLocation.objects.filter(monitor=monitor).update(next_check_at=timezone.now())
            assert _wait_for(lambda: Monitor.objects.get(pk=monitor.pk).state == "down")
        finally:
            agent.terminate()
            agent.wait(timeout=30)
    failed = CheckResult.objects.filter(monitor=monitor, outcome="down").first()
    assert (failed.location, failed.message) == ("branch-office", "status 503")
    issued.location.refresh_from_db()
    assert issued.location.last_seen_at > timezone.now() - timedelta(minutes=5)
    assert agent.returncode == 0
