"""The monitoring app's event log: raw check results (audit/eventlog/)."""

from audit.eventlog import EventLog

CHECK_RESULTS = EventLog(
    name="check_results",
    model="monitoring.CheckResult",
    time_field="checked_at",
    fields=("monitor_id", "checked_at", "outcome", "latency_ms", "message", "lateness_ms", "location"),
    organization_lookup="monitor__organization_id",
    indexes=(("monitor_id", "checked_at"),),
)
