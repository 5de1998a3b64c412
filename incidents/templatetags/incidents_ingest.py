"""Template helpers of the integration and maintenance pages."""

from zoneinfo import ZoneInfo

from django import template
from django.utils.html import format_html

from incidents.ingest.masking import pretty_payload
from incidents.ingest.results import Result
from incidents.models import Recurrence

register = template.Library()

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
KIND_MONOGRAMS = {
    "alertmanager": "AM",
    "grafana": "GF",
    "pagerduty": "PD",
    "webhook": "{ }",
    "heartbeat": "HB",
}
# What each outcome of an event reads as, and the badge it wears.
OUTCOMES = {
    Result.CREATED: ("New incident", "status-snoozed"),
    Result.ATTACHED: ("Joined incident", ""),
    Result.REFIRED: ("Fired again in", "status-acknowledged"),
    Result.DEDUPLICATED: ("Deduplicated into", ""),
    Result.RESOLVED: ("Resolved alert in", "status-resolved"),
    Result.ACKNOWLEDGED: ("Acknowledged", ""),
    Result.SUPPRESSED: ("Suppressed by maintenance", "status-acknowledged"),
    Result.DROPPED: ("Dropped by rule", "status-triggered"),
    Result.IGNORED: ("Ignored", ""),
}


@register.filter
def window_schedule(window) -> str:
    """“Sun 01:00 for 120 min, Europe/Berlin” or “2026-03-01 02:00 to 2026-03-01 04:00, Europe/Berlin”."""
    zone = window.time_zone or "UTC"
    tz = ZoneInfo(zone)
    if window.recurrence == Recurrence.ONCE:
        if not window.starts_at or not window.ends_at:
            return "—"
        start, end = window.starts_at.astimezone(tz), window.ends_at.astimezone(tz)
        return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}, {zone}"
    days = ", ".join(DAYS[d] for d in sorted(window.weekdays or []) if 0 <= d <= 6)
    start = window.start_time.strftime("%H:%M") if window.start_time else "?"
    text = f"Every {days} at {start} for {window.duration_minutes} min, {zone}"
    if window.starts_at or window.ends_at:
        since = f" from {window.starts_at.astimezone(tz):%Y-%m-%d}" if window.starts_at else ""
        until = f" until {window.ends_at.astimezone(tz):%Y-%m-%d}" if window.ends_at else ""
        text += since + until
    return text


@register.simple_tag
def kind_icon(kind, label=""):
    """A small monogram tile for an integration kind (the label is read out instead)."""
    return format_html(
        '<span class="kind-icon kind-{}" title="{}" aria-hidden="true">{}</span>',
        kind,
        label,
        KIND_MONOGRAMS.get(kind, "?"),
    )


@register.filter
def masked_payload(body) -> str:
    """A stored body pretty-printed (JSON indented) with every key and secret-looking value masked."""
    return pretty_payload(body or "")


def _named(reason: str, prefix: str) -> str:
    return reason.removeprefix(prefix).strip() if reason.startswith(prefix) else reason


@register.filter
def payload_outcomes(payload) -> list[dict]:
    """What each event of a stored request produced, in words: "New incident #12", "Suppressed by
    maintenance “Sunday rebuild”", "Dropped by rule “noise”"; then the request's notes."""
    rows = []
    for item in payload.result or []:
        if "outcome" not in item:
            rows.extend(_notes(item))
            continue
        words, css = OUTCOMES.get(item["outcome"], (item["outcome"], ""))
        reason = item.get("reason", "")
        if item["outcome"] == Result.SUPPRESSED:
            reason = _named(reason, "maintenance:")
        elif item["outcome"] == Result.DROPPED:
            reason = _named(reason, "rule:")
        rows.append(
            {
                "words": words,
                "css": css,
                "incident": item.get("incident"),
                "reason": reason,
                "dedup_key": item.get("dedup_key", ""),
                "status": item.get("status", ""),
            }
        )
    return rows


def _notes(item: dict) -> list[dict]:
    if item.get("test_event"):
        return [
            {"words": "Test event", "css": "status-snoozed", "reason": f"sent by {item.get('sent_by', '?')}"}
        ]
    if item.get("ping"):
        return [{"words": "Ping", "css": "status-resolved", "reason": item["ping"]}]
    if item.get("truncated_alerts"):
        return [
            {
                "words": f"{item['truncated_alerts']} alerts truncated by the sender",
                "css": "status-acknowledged",
            }
        ]
    return [{"words": ", ".join(f"{k}: {v}" for k, v in item.items()), "css": ""}]


@register.filter
def is_test_event(payload) -> bool:
    return any(item.get("test_event") for item in payload.result or [] if "outcome" not in item)
