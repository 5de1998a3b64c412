"""The incident page's timeline: the ledger entries of the incident, with the delivery worker's
entries folded into one line per notification.

A flaky destination writes one ``notification.failed`` entry per attempt; five retries would bury the
human actions under five near-identical lines. The folded line stands where the notification's
latest entry stands and says where it got to ("3 attempts failed, retrying at …", "delivered after
2 retries", "gave up after 5 attempts"). The ledger itself keeps every entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateparse import parse_datetime

DELIVERY_VERBS = {
    "notification.sent",
    "notification.failed",
    "notification.dead_lettered",
    "notification.cancelled",
}
MEDIUM_LABELS = {"email": "Email", "sms": "SMS", "voice": "Voice call", "slack": "Slack", "teams": "Teams"}


@dataclass
class DeliveryLine:
    """One notification's deliveries, as one timeline line."""

    notification: int
    medium: str
    to: str
    entries: list = field(default_factory=list)
    folded = True

    @property
    def verb(self) -> str:
        """The latest entry's verb: the line reads as where the notification got to."""
        return self.entries[-1].verb

    @property
    def created_at(self) -> datetime:
        return self.entries[-1].created_at

    @property
    def actor_label(self) -> str:
        return self.entries[-1].actor_label

    @property
    def target_id(self) -> str:
        return self.entries[-1].target_id

    @property
    def failures(self) -> int:
        return sum(1 for e in self.entries if e.verb == "notification.failed")

    @property
    def state(self) -> str:
        last = self.entries[-1].verb
        return {
            "notification.sent": "sent",
            "notification.failed": "failed",
            "notification.dead_lettered": "dead",
            "notification.cancelled": "cancelled",
        }[last]

    @property
    def retry_at(self) -> datetime | None:
        if self.state != "failed":
            return None
        return parse_datetime(self.entries[-1].data.get("next_attempt_at") or "")

    @property
    def destination(self) -> str:
        return f"{MEDIUM_LABELS.get(self.medium, self.medium.capitalize())} to {self.to}"

    @property
    def summary(self) -> str:
        failures, state = self.failures, self.state
        plural = "attempt" if failures == 1 else "attempts"
        if state == "sent":
            if not failures:
                return "delivered"
            return f"delivered after {failures} {'retry' if failures == 1 else 'retries'}"
        if state == "failed":
            return f"{failures} {plural} failed, retrying"
        if state == "dead":
            attempts = self.entries[-1].data.get("attempts") or failures + 1
            return f"gave up after {attempts} attempts (dead letter)"
        return "not needed any more; dropped"

    @property
    def last_error(self) -> str:
        for entry in reversed(self.entries):
            if entry.data.get("error"):
                return str(entry.data["error"])
        return ""


def folded_timeline(entries) -> list:
    """Ledger entries in order, the delivery entries of each notification folded into one line at
    the position of its latest entry."""
    entries = list(entries)
    lines: dict[int, DeliveryLine] = {}
    last_index: dict[int, int] = {}
    for index, entry in enumerate(entries):
        key = entry.data.get("notification") if entry.verb in DELIVERY_VERBS else None
        if key is None:
            continue
        line = lines.get(key)
        if line is None:
            line = lines[key] = DeliveryLine(key, entry.data.get("medium", ""), entry.data.get("to", ""))
        line.entries.append(entry)
        last_index[key] = index
    result = []
    for index, entry in enumerate(entries):
        key = entry.data.get("notification") if entry.verb in DELIVERY_VERBS else None
        if key is None:
            result.append(entry)
        elif last_index[key] == index:
            result.append(lines[key])
    return result
