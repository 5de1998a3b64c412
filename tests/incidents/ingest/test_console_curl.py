"""The console's curl examples, run as a person would paste them: bash and curl against a real
server serving this test's database, with only the key variable set."""

import os
import shutil
import subprocess

import pytest

from incidents.ingest import samples
from incidents.models import Incident

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]


def _run(snippet: str, **env) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", snippet],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("kind", ["alertmanager", "grafana", "pagerduty", "webhook", "heartbeat"])
def test_the_curl_example_works_as_pasted(live_server, settings, make_integration, kind):
    settings.SITE_URL = live_server.url
    values = {"heartbeat_period_seconds": 300} if kind == "heartbeat" else {}
    integration, key = make_integration(kind, **values)

    output = _run(samples.example(integration).curl, OPS_INTEGRATION_KEY=key)

    if kind == "heartbeat":
        assert '"status": "ok"' in output
        integration.refresh_from_db()
        assert integration.last_ping_at is not None
    else:
        assert '"status": "' in output and "invalid" not in output, output
        assert Incident.objects.filter(integration=integration, title__contains="Example alert").count() == 1


def test_the_signed_grafana_example_works_as_pasted(live_server, settings, make_integration):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    settings.SITE_URL = live_server.url
    integration, key = make_integration("grafana", hmac_secret="shared-s3cret")
    snippet = samples.example(integration).curl

    _run(snippet, OPS_INTEGRATION_KEY=key, OPS_GRAFANA_SECRET="shared-s3cret")
    assert Incident.objects.filter(integration=integration).count() == 1

    refused = _run(snippet, OPS_INTEGRATION_KEY=key, OPS_GRAFANA_SECRET="wrong")
    assert "signature" in refused.lower() and Incident.objects.filter(integration=integration).count() == 1


def test_the_revealed_example_carries_the_key(live_server, settings, make_integration):
    settings.SITE_URL = live_server.url
    integration, key = make_integration("alertmanager")
    _run(samples.example(integration, key=key).curl)  # no variable set: the snippet sets it
    assert Incident.objects.filter(integration=integration).count() == 1
