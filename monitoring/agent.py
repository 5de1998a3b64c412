"""A probe agent: checks monitors from another place and reports to the platform over HTTP.

    python -m monitoring.agent --server https://ops.example.com --token opa_…
    manage.py monitor_agent --server … --token …          (the same, as a management command)

The token (``OPS_AGENT_TOKEN`` in the environment, or ``--token``) names the location: create one
under ``/api/v1/probe-locations/``. Every ``--every`` seconds the agent leases the checks falling due
within ``--lookahead`` seconds, starts each at its due time with the platform's own probes (so the
SSRF guard and ``OUTBOUND_ALLOWED_NETWORKS`` of the agent's machine apply), and posts finished
results back. It needs the platform's code and settings, not its database.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time

import httpx

logger = logging.getLogger("monitoring.agent")


class Agent:
    def __init__(
        self, server: str, token: str, *, lookahead: float = 2.0, limit: int = 200, timeout: float = 10.0
    ):
        from monitoring.scheduler import probe_loop

        self.http = httpx.Client(
            base_url=server.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
        self.loop = probe_loop()
        self.lookahead, self.limit = lookahead, limit
        self.pending: dict = {}
        self.reported = self.stale = 0

    def lease(self) -> int:
        from django.utils.dateparse import parse_datetime
        from django.utils.timezone import now

        from monitoring.probes.base import ProbeSpec

        response = self.http.post(
            "/api/v1/probe-agent/lease/", json={"limit": self.limit, "lookahead": self.lookahead}
        )
        response.raise_for_status()
        checks = response.json()["checks"]
        for check in checks:
            spec = ProbeSpec(
                monitor_id=check["monitor"],
                kind=check["kind"],
                target=check["target"],
                timeout=check["timeout"],
                assertions=check["assertions"],
                degraded_latency_ms=check["degraded_latency_ms"],
            )
            due_at = parse_datetime(check["due_at"])
            delay = (due_at - now()).total_seconds()
            self.pending[self.loop.submit(spec, delay)] = (spec, check["due_at"])
        return len(checks)

    def report(self) -> int:
        done = [f for f in self.pending if f.done()]
        if not done:
            return 0
        results = []
        for future in done:
            spec, due_at = self.pending.pop(future)
            started, result = future.result()
            results.append(
                {
                    "monitor": spec.monitor_id,
                    "due_at": due_at,
                    "started_at": started.isoformat(),
                    "outcome": result.outcome,
                    "latency_ms": result.latency_ms,
                    "message": result.message[:500],
                }
            )
        response = self.http.post("/api/v1/probe-agent/results/", json={"results": results})
        response.raise_for_status()
        body = response.json()
        self.reported += body["recorded"]
        self.stale += body["stale"]
        return len(results)

    def cycle(self) -> None:
        self.report()
        self.lease()

    def drain(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.05)
            self.report()

    def run(self, *, every: float = 1.0, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.cycle()
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                # The platform may be restarting: keep probing what is leased, retry the next cycle.
                logger.warning("probe agent: %s", exc)
            stop.wait(max(0.0, every - (time.monotonic() - started)))
        self.drain()


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="python -m monitoring.agent", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--server", required=True, help="The platform's base URL.")
    parser.add_argument(
        "--token", default=os.environ.get("OPS_AGENT_TOKEN", ""), help="The location's agent token."
    )
    parser.add_argument("--every", type=float, default=1.0, help="Seconds between leases (default 1).")
    parser.add_argument("--lookahead", type=float, default=2.0, help="Lease checks due this far ahead.")
    parser.add_argument("--limit", type=int, default=200, help="Checks per lease at most.")
    return parser


def run_from(options) -> None:
    if not options.token:
        raise SystemExit("Give the agent token with --token or OPS_AGENT_TOKEN.")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    agent = Agent(options.server, options.token, lookahead=options.lookahead, limit=options.limit)
    logger.warning("probe agent reporting to %s", options.server)
    agent.run(every=options.every, stop=stop)


def main(argv=None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsplatform.settings")
    import django

    django.setup()
    run_from(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
