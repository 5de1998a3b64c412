"""What ingestion tells its callers: the outcome of each event and of the whole request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from incidents.ingest.conf import ingest_settings


class Result:
    CREATED = "created"  # opened a new incident
    ATTACHED = "attached"  # a new alert joined an open incident
    REFIRED = "refired"  # a resolved alert of an open incident fires again
    DEDUPLICATED = "deduplicated"  # another occurrence of an alert already open (or a re-send)
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    SUPPRESSED = "suppressed"
    DROPPED = "dropped"
    IGNORED = "ignored"  # nothing to act on (resolve of an unknown alert, a stale re-send)


@dataclass
class EventResult:
    dedup_key: str
    status: str
    outcome: str
    incident_id: int | None = None
    alert_id: int | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        data = {"dedup_key": self.dedup_key, "status": self.status, "outcome": self.outcome}
        if self.incident_id:
            data["incident"] = self.incident_id
        if self.alert_id:
            data["alert"] = self.alert_id
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass
class IngestResult:
    payload_id: uuid.UUID | None
    results: list[EventResult]

    @classmethod
    def repeated(cls, payload_id, *, dedup_key: str, status: str, incident_id, alert_id) -> IngestResult:
        """The answer to one repeated trigger of an alert already firing in an open incident."""
        event = EventResult(
            dedup_key=dedup_key,
            status=status,
            outcome=Result.DEDUPLICATED,
            incident_id=incident_id,
            alert_id=alert_id,
        )
        return cls(payload_id=payload_id, results=[event])

    def count(self, *outcomes) -> int:
        return sum(1 for r in self.results if r.outcome in outcomes)

    @property
    def incident_ids(self) -> list[int]:
        return sorted({r.incident_id for r in self.results if r.incident_id})

    def summary(self) -> dict:
        keys = [
            Result.CREATED,
            Result.ATTACHED,
            Result.REFIRED,
            Result.DEDUPLICATED,
            Result.RESOLVED,
            Result.ACKNOWLEDGED,
            Result.SUPPRESSED,
            Result.DROPPED,
            Result.IGNORED,
        ]
        return {key: self.count(key) for key in keys}


@dataclass
class RawBody:
    """The request as received, for the raw payload record."""

    body: bytes = b""
    content_type: str = ""
    notes: dict = field(default_factory=dict)

    def stored_fields(self) -> dict:
        """The ``RawPayload`` columns: the body bounded by ``INGEST_RAW_PAYLOAD_MAX_BYTES`` (NUL made
        safe for PostgreSQL text), its real size, and whether it was cut."""
        limit = ingest_settings().raw_payload_max_bytes
        return {
            "content_type": self.content_type[:100],
            "body": self.body[:limit].decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
            "size": len(self.body),
            "truncated": len(self.body) > limit,
        }
