"""TCP connect: up when the handshake completes within the timeout. The address is vetted first."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from monitoring.models import Outcome
from monitoring.probes.base import ProbeResult, ProbeSpec, split_host_port
from opsplatform.core import http


async def vetted(host: str, port: int) -> list[tuple[int, tuple]]:
    """The SSRF guard's resolution (blocking getaddrinfo, so on a thread)."""
    return await asyncio.to_thread(http.vetted_addresses, host, port)


async def probe(spec: ProbeSpec) -> ProbeResult:
    try:
        host, port = split_host_port(spec.target)
        addresses = await vetted(host, port)
    except http.OutboundRefused as exc:
        return ProbeResult.down(f"refused: {exc}")
    except (ValueError, httpx.ConnectError) as exc:
        return ProbeResult.down(str(exc))
    started = time.perf_counter()
    last = "no address"
    for _family, sockaddr in addresses:
        try:
            # Connect to the vetted literal, never the name: no second lookup between check and connect.
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(sockaddr[0], port), spec.timeout)
        except TimeoutError:
            return ProbeResult.down(f"timed out after {spec.timeout:g} s")
        except OSError as exc:
            last = exc.strerror or str(exc)
            continue
        latency = (time.perf_counter() - started) * 1000
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return ProbeResult(Outcome.UP, f"connected to {sockaddr[0]}:{port}", latency).slow_check(spec)
    return ProbeResult.down(f"connection failed: {last}")
