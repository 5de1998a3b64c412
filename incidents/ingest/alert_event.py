"""The one shape every payload format normalizes into, and the error a bad payload raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from django.db import models

from incidents.models import AlertStatus, Severity

MAX_DEDUP_KEY = 255
MAX_TITLE = 1024
MAX_DESCRIPTION = 20_000
MAX_LABELS = 100
MAX_LABEL_VALUE = 1024
MAX_LINKS = 20


class EventAction(models.TextChoices):
    TRIGGER = "trigger", "Trigger"
    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    RESOLVE = "resolve", "Resolve"


@dataclass
class AlertEvent:
    """One alert signal, whatever format it came in.

    ``dedup_key`` identifies the alert within the organization; ``group_key`` (optional) names the
    group it belongs to; ``occurrence_key`` (optional) identifies one firing episode, so a re-sent
    notification of the same episode is recognized as such and changes nothing.
    """

    action: str
    dedup_key: str
    title: str = ""
    description: str = ""
    severity: str = ""  # a Severity value, or "" for the service's default
    source: str = ""
    group_key: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    links: list[dict] = field(default_factory=list)
    occurred_at: datetime | None = None
    fingerprint: str = ""
    occurrence_key: str = ""

    @property
    def status(self) -> str:
        if self.action == EventAction.RESOLVE:
            return AlertStatus.RESOLVED
        if self.action == EventAction.ACKNOWLEDGE:
            return "acknowledged"
        return AlertStatus.FIRING

    def as_preview(self) -> dict:
        return {
            "action": self.action,
            "status": self.status,
            "dedup_key": self.dedup_key,
            "group_key": self.group_key,
            "title": self.title,
            "description": self.description,
            "severity": self.severity,
            "source": self.source,
            "labels": self.labels,
            "links": self.links,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
        }


class PayloadError(Exception):
    """The payload is not what its format requires: a 400 listing what is wrong."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


# Vendors' severities onto ours. Unknown values fall back to the service's default.
SEVERITY_ALIASES = {
    "critical": Severity.SEV1,
    "crit": Severity.SEV1,
    "fatal": Severity.SEV1,
    "emergency": Severity.SEV1,
    "page": Severity.SEV1,
    "p1": Severity.SEV1,
    "high": Severity.SEV2,
    "error": Severity.SEV2,
    "major": Severity.SEV2,
    "p2": Severity.SEV2,
    "warning": Severity.SEV3,
    "warn": Severity.SEV3,
    "medium": Severity.SEV3,
    "minor": Severity.SEV3,
    "p3": Severity.SEV3,
    "info": Severity.SEV4,
    "informational": Severity.SEV4,
    "low": Severity.SEV4,
    "notice": Severity.SEV4,
    "p4": Severity.SEV4,
    "p5": Severity.SEV4,
}


def severity_from(value) -> str:
    if not isinstance(value, str):
        return ""
    return _severity_of(value)


@lru_cache(maxsize=256)
def _severity_of(value: str) -> str:
    text = value.strip().lower()
    if text in Severity.values:
        return text
    return SEVERITY_ALIASES.get(text, "")
