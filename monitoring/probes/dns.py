"""DNS: resolve ``target`` for a record type and, optionally, require an expected answer.

Assertions: ``record_type`` (default A), ``expected`` (one answer or a list, each must be present,
compared as text, case-insensitive, trailing dots ignored), ``nameserver`` and ``port`` (default: the
system's resolver). A nameserver named here is an outbound destination, so the SSRF guard vets it.
"""

from __future__ import annotations

import time

import dns.asyncresolver
import dns.exception
import dns.resolver

from monitoring.models import Outcome
from monitoring.probes.base import ProbeResult, ProbeSpec
from opsplatform.core import http

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "SRV", "CAA", "PTR")


def _normal(text: str) -> str:
    return text.strip().strip('"').rstrip(".").lower()


async def probe(spec: ProbeSpec) -> ProbeResult:  # noqa: PLR0911 - one return per DNS failure
    a = spec.assertions
    record_type = str(a.get("record_type", "A")).upper()
    nameserver = a.get("nameserver")
    if nameserver:
        if http.is_refused_address(nameserver):
            return ProbeResult.down(f"refused: nameserver {nameserver} is not an allowed address")
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [nameserver]
        resolver.port = int(a.get("port", 53))
    else:
        resolver = dns.asyncresolver.Resolver()
    started = time.perf_counter()
    try:
        answer = await resolver.resolve(spec.target.strip(), record_type, lifetime=spec.timeout)
    except dns.resolver.NXDOMAIN:
        return ProbeResult.down(f"{spec.target}: no such domain")
    except dns.resolver.NoAnswer:
        return ProbeResult.down(f"{spec.target}: no {record_type} record")
    except dns.exception.Timeout:
        return ProbeResult.down(f"DNS timed out after {spec.timeout:g} s")
    except dns.exception.DNSException as exc:
        return ProbeResult.down(f"DNS error: {exc}")
    latency = (time.perf_counter() - started) * 1000
    got = {_normal(r.to_text()) for r in answer}
    expected = a.get("expected")
    if expected:
        wanted = {_normal(e) for e in ([expected] if isinstance(expected, str) else expected)}
        missing = wanted - got
        if missing:
            return ProbeResult.down(
                f"expected {', '.join(sorted(missing))}; got {', '.join(sorted(got))}", latency
            )
    return ProbeResult(Outcome.UP, ", ".join(sorted(got))[:500], latency).slow_check(spec)
