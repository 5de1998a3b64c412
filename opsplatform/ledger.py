"""The core's door to the event ledger.

The core sits below ``audit`` in the layer order, so it cannot import it; the audit app registers
its recorder here when it loads (``AuditConfig.ready``). Every app above the core calls
``audit.services.record`` directly; only core services (accounts) come through this port.
"""

from collections.abc import Callable

_recorder: Callable | None = None


def set_recorder(recorder: Callable) -> None:
    global _recorder  # noqa: PLW0603 - a single process-wide registration at app load
    _recorder = recorder


def record(**kwargs):
    if _recorder is None:
        raise RuntimeError("the audit app is not installed: no ledger recorder registered")
    return _recorder(**kwargs)
