"""ICMP echo without root (icmplib's unprivileged datagram sockets).

Linux allows those only to groups in ``net.ipv4.ping_group_range``; where the system refuses, the
result is ``not_permitted``: stated plainly, and it moves the monitor neither up nor down.
"""

from __future__ import annotations

import httpx
from icmplib import async_ping
from icmplib.exceptions import ICMPLibError, SocketPermissionError

from monitoring.models import Outcome
from monitoring.probes.base import ProbeResult, ProbeSpec
from monitoring.probes.tcp import vetted
from opsplatform.core import http

NOT_PERMITTED = "ICMP is not permitted for this process here (net.ipv4.ping_group_range); use a TCP monitor."


async def probe(spec: ProbeSpec) -> ProbeResult:
    try:
        addresses = await vetted(spec.target.strip(), 0)
    except http.OutboundRefused as exc:
        return ProbeResult.down(f"refused: {exc}")
    except httpx.ConnectError as exc:
        return ProbeResult.down(str(exc))
    address = addresses[0][1][0]
    count = int(spec.assertions.get("count", 1))
    try:
        host = await async_ping(address, count=count, interval=0.2, timeout=spec.timeout, privileged=False)
    except SocketPermissionError:
        return ProbeResult(Outcome.NOT_PERMITTED, NOT_PERMITTED)
    except (ICMPLibError, OSError) as exc:
        return ProbeResult.down(f"ping failed: {exc}")
    if not host.is_alive:
        return ProbeResult.down(f"no reply from {address}")
    return ProbeResult(
        Outcome.UP, f"{host.packets_received}/{host.packets_sent} replies", host.avg_rtt
    ).slow_check(spec)
