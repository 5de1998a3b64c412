from monitoring.services.monitors import (
    monitor_create,
    monitor_delete,
    monitor_pause,
    monitor_resume,
    monitor_update,
)
from monitoring.services.results import PingKind, heartbeat_ping, record_result

__all__ = [
    "PingKind",
    "heartbeat_ping",
    "monitor_create",
    "monitor_delete",
    "monitor_pause",
    "monitor_resume",
    "monitor_update",
    "record_result",
]
