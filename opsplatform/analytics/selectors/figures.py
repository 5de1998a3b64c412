"""From rollup sums to the figures people read. Every mean is an exact sum over an exact count."""

from django.db.models import Sum

SUMS = (
    "incidents",
    "open",
    "alerts",
    "acknowledged",
    "ack_ms",
    "resolved",
    "resolve_ms",
    "ack_resolved",
    "ack_to_resolve_ms",
    "unacked_resolved",
    "unacked_resolve_ms",
    "ack_sla_met",
    "ack_sla_breached",
    "resolve_sla_met",
    "resolve_sla_breached",
    "escalated",
)


def sum_expressions() -> dict:
    return {name: Sum(name) for name in SUMS}


def _mean_seconds(total_ms, count):
    return round(total_ms / count / 1000, 3) if count else None


def _ratio(part, whole):
    return round(part / whole, 4) if whole else None


def figures(sums: dict) -> dict:
    s = {name: int(sums.get(name) or 0) for name in SUMS}
    return {
        "incidents": s["incidents"],
        "open": s["open"],
        "alerts": s["alerts"],
        "acknowledged": s["acknowledged"],
        "resolved": s["resolved"],
        "mtta_seconds": _mean_seconds(s["ack_ms"], s["acknowledged"]),
        "mttr_seconds": _mean_seconds(s["resolve_ms"], s["resolved"]),
        "ack_sla_met": s["ack_sla_met"],
        "ack_sla_breached": s["ack_sla_breached"],
        "ack_sla_compliance": _ratio(s["ack_sla_met"], s["ack_sla_met"] + s["ack_sla_breached"]),
        "resolve_sla_met": s["resolve_sla_met"],
        "resolve_sla_breached": s["resolve_sla_breached"],
        "resolve_sla_compliance": _ratio(
            s["resolve_sla_met"], s["resolve_sla_met"] + s["resolve_sla_breached"]
        ),
        "escalated": s["escalated"],
        "escalation_rate": _ratio(s["escalated"], s["incidents"]),
    }


def stages(sums: dict) -> list[dict]:
    """Where incidents wait: each stage's count and mean time spent in it."""
    s = {name: int(sums.get(name) or 0) for name in SUMS}
    return [
        {
            "stage": "triggered_to_acknowledged",
            "label": "Triggered → acknowledged",
            "incidents": s["acknowledged"],
            "mean_seconds": _mean_seconds(s["ack_ms"], s["acknowledged"]),
        },
        {
            "stage": "acknowledged_to_resolved",
            "label": "Acknowledged → resolved",
            "incidents": s["ack_resolved"],
            "mean_seconds": _mean_seconds(s["ack_to_resolve_ms"], s["ack_resolved"]),
        },
        {
            "stage": "triggered_to_resolved_unacknowledged",
            "label": "Triggered → resolved, never acknowledged",
            "incidents": s["unacked_resolved"],
            "mean_seconds": _mean_seconds(s["unacked_resolve_ms"], s["unacked_resolved"]),
        },
    ]
