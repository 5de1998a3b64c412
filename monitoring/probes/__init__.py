"""One probe per monitor kind; ``run`` dispatches. Every probe returns a result, never raises."""

from __future__ import annotations

import asyncio
import logging

from monitoring.models import MonitorKind
from monitoring.probes import dns, ping, tcp
from monitoring.probes import http as http_probe
from monitoring.probes.base import ProbeResult, ProbeSpec

logger = logging.getLogger(__name__)

__all__ = ["ProbeResult", "ProbeSpec", "run"]


async def run(spec: ProbeSpec, executor=None) -> ProbeResult:
    try:
        if spec.kind == MonitorKind.HTTP:
            # The guarded client is synchronous (it vets at connect time inside httpcore's backend).
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(executor, http_probe.probe_sync, spec)
        if spec.kind == MonitorKind.TCP:
            return await tcp.probe(spec)
        if spec.kind == MonitorKind.DNS:
            return await dns.probe(spec)
        if spec.kind == MonitorKind.PING:
            return await ping.probe(spec)
    except Exception as exc:  # one broken probe must not stop the batch
        logger.exception("probe of monitor %s failed", spec.monitor_id)
        return ProbeResult.down(f"probe error: {type(exc).__name__}")
    raise ValueError(f"no probe for {spec.kind}")
