"""What every probe takes (a frozen snapshot of the monitor) and returns (one outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitoring.models import Outcome


@dataclass(frozen=True)
class ProbeSpec:
    """The part of a monitor a probe needs; probes never touch the database."""

    monitor_id: int
    kind: str
    target: str
    timeout: float
    assertions: dict = field(default_factory=dict)
    degraded_latency_ms: int | None = None

    @classmethod
    def of(cls, monitor) -> ProbeSpec:
        return cls(
            monitor_id=monitor.pk,
            kind=monitor.kind,
            target=monitor.target,
            timeout=monitor.timeout_seconds,
            assertions=dict(monitor.assertions or {}),
            degraded_latency_ms=monitor.degraded_latency_ms,
        )


@dataclass
class ProbeResult:
    outcome: str
    message: str = ""
    latency_ms: float | None = None

    @classmethod
    def down(cls, message: str, latency_ms: float | None = None) -> ProbeResult:
        return cls(Outcome.DOWN, message[:500], latency_ms)

    def slow_check(self, spec: ProbeSpec) -> ProbeResult:
        """An up result slower than the monitor's threshold is degraded."""
        if (
            self.outcome == Outcome.UP
            and spec.degraded_latency_ms
            and self.latency_ms is not None
            and self.latency_ms > spec.degraded_latency_ms
        ):
            self.outcome = Outcome.DEGRADED
            self.message = f"slow: {self.latency_ms:.0f} ms > {spec.degraded_latency_ms} ms"
        return self


def split_host_port(target: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` (or a bare host with ``default_port``) -> (host, port)."""
    text = target.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not port_text:
        if default_port is None:
            raise ValueError("Give host:port.")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError("The port must be a number from 1 to 65535.")
    if not host:
        raise ValueError("The host is missing.")
    return host, int(port_text)
