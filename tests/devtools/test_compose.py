"""The production compose file runs the shape ``make run`` runs and the storm benchmark measures:
escalation and delivery on workers of their own, every task routed to a queue that exactly one
service consumes, and the general worker and beat behind the web and the paging workers for CPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from opsplatform.devtools.runner import DELIVERY_QUEUE, PAGING_QUEUE

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
# What Celery itself answers for the two paging ticks and for a task of the general worker.
ASK_ROUTES = """
import json, django
django.setup()
from opsplatform.celery import app
names = ["notifications.escalation_tick", "notifications.delivery_tick", "incidents.sla_tick"]
print(json.dumps({name: app.amqp.router.route({}, name)["queue"].name for name in names}))
"""
DEFAULT_WEIGHT = 1024  # Docker's cpu_shares when a service sets none


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _queues(service: dict) -> list[str]:
    command = service.get("command") or []
    if "worker" not in command:
        return []
    assert "-Q" in command, f"a worker without -Q consumes only the default queue: {command}"
    return command[command.index("-Q") + 1].split(",")


@pytest.fixture(scope="module")
def routes(services) -> dict[str, str]:
    """Where Celery routes the ticks, loaded with the environment compose gives the app services."""
    environment = services["web"]["environment"]
    for name in ("paging", "delivery", "worker", "beat"):
        assert services[name]["environment"] == environment, name
    loaded = subprocess.run(
        [sys.executable, "-c", ASK_ROUTES],
        check=False,
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "opsplatform.settings", **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    return json.loads(loaded.stdout.strip().splitlines()[-1])


def test_every_routed_queue_has_exactly_one_consuming_service(services, routes):
    consumers: dict[str, list[str]] = {}
    for name, service in services.items():
        for queue in _queues(service):
            consumers.setdefault(queue, []).append(name)
    # The same queues as make run's runner, each with a worker of its own.
    assert routes == {
        "notifications.escalation_tick": PAGING_QUEUE,
        "notifications.delivery_tick": DELIVERY_QUEUE,
        "incidents.sla_tick": "celery",
    }
    assert consumers == {PAGING_QUEUE: ["paging"], DELIVERY_QUEUE: ["delivery"], "celery": ["worker"]}


def test_the_general_worker_and_beat_yield_the_cpu_to_ingestion_and_paging(services):
    weight = {name: services[name].get("cpu_shares", DEFAULT_WEIGHT) for name in services}
    for urgent in ("web", "paging", "delivery"):
        assert weight[urgent] == DEFAULT_WEIGHT
    for background in ("worker", "beat"):
        assert weight[background] < DEFAULT_WEIGHT / 4


def test_beat_runs_once(services):
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["beat"]["command"][-3:] == ["beat", "-l", "INFO"]
