"""The fault drills share one platform per test run: private PostgreSQL and Redis servers, migrated
and seeded with the demo data, the runner serving it, and the peers that receive its pages.

Run with ``make faults``; ``make test`` leaves this folder out (``--ignore`` in pyproject's addopts).
"""

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.backing import Postgres, Redis, free_port
from tests.faults.peers import Peers, running_peers
from tests.faults.platform import Platform, manage, platform_env

# The seeded demo incidents that are open and unacknowledged page at start-up: once their pages
# arrived, web, worker and beat are all working.
STARTUP_SECONDS = 120


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.faults)


@dataclass
class World:
    postgres: Postgres
    redis: Redis
    peers: Peers
    platform: Platform
    run_id: str


@pytest.fixture(scope="session")
def world():
    # Not under pytest's base temp directory: pytest keeps that 0700, and another pytest run on the
    # machine may reset it at any moment, locking out PostgreSQL (it runs as its own user under root).
    root = Path(tempfile.mkdtemp(prefix="opsplatform-faults-"))
    root.chmod(0o755)
    postgres = Postgres(root / "pg")
    redis = Redis(root / "redis")
    platform = None
    with running_peers() as peers:
        try:
            postgres.create()
            redis.start()
            env = platform_env(
                database_url=postgres.url,
                redis_url=redis.url,
                port=free_port(),
                extra={
                    "DEMO_WEBHOOK_URL": peers.webhook.url("/pages"),
                    # The peers listen on loopback, which the SSRF guard refuses unless allowed.
                    "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
                    "EMAIL_HOST": "127.0.0.1",
                    "EMAIL_PORT": str(peers.smtp_port),
                },
            )
            log = root / "platform.log"
            manage(env, "migrate", "--noinput", log=log)
            manage(env, "seed_demo", log=log)
            platform = Platform(env=env, port=int(env["PORT"]), log=log)
            platform.start()
            _wait_for_first_pages(peers, platform)
            yield World(postgres, redis, peers, platform, run_id=str(int(time.time())))
        finally:
            if platform is not None:
                platform.stop()
            redis.stop()
            if postgres.running():
                postgres.stop("fast")
            if os.environ.get("FAULTS_KEEP_LOGS"):
                print(f"fault drill files kept in {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)


def _wait_for_first_pages(peers: Peers, platform: Platform) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if sum(peers.delivered().values()) > 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"no page arrived within {STARTUP_SECONDS} s of start-up:\n{platform.tail()}")
