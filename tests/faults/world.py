"""The platform as ``make run`` starts it, on private servers: PostgreSQL and Redis of its own,
migrated and seeded with the demo data, the runner serving it, and the peers that receive its pages.

Shared by the fault drills (``tests/faults/conftest.py``) and the storm benchmark
(``tests/bench/test_storm.py``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.faults.backing import Postgres, Redis, free_port
from tests.faults.peers import Peers, running_peers
from tests.faults.platform import Platform, manage, platform_env

# The seeded demo incidents that are open and unacknowledged page at start-up: once their pages
# arrived, web, worker and beat are all working.
STARTUP_SECONDS = 120


@dataclass
class World:
    postgres: Postgres
    redis: Redis
    peers: Peers
    platform: Platform
    run_id: str


@contextlib.contextmanager
def running_world(
    *,
    prefix: str = "opsplatform-faults-",
    database: str = "ops_faults",
    extra: dict | None = None,
    prepare: Callable[[Postgres], None] | None = None,
    peers_own_process: bool = False,
):
    """Yield a ``World`` once the platform is up and its first pages arrived. ``extra`` adds to the
    platform's environment; ``prepare`` runs against the seeded database before the platform starts."""
    # Not under pytest's base temp directory: pytest keeps that 0700, and another pytest run on the
    # machine may reset it at any moment, locking out PostgreSQL (it runs as its own user under root).
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    postgres = Postgres(root / "pg", database=database)
    redis = Redis(root / "redis")
    platform = None
    with running_peers(own_process=peers_own_process) as peers:
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
                    **(extra or {}),
                },
            )
            log = root / "platform.log"
            manage(env, "migrate", "--noinput", log=log)
            manage(env, "seed_demo", log=log)
            if prepare is not None:
                prepare(postgres)
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
                print(f"platform files kept in {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)


def _wait_for_first_pages(peers: Peers, platform: Platform) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if sum(peers.delivered().values()) > 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"no page arrived within {STARTUP_SECONDS} s of start-up:\n{platform.tail()}")
