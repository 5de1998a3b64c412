"""Ingestion settings and their defaults (``settings.INGEST_*``, read from the environment in settings.py)."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

RATE_PATTERN = re.compile(r"^[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)$")


def valid_rate(value: str) -> bool:
    return bool(RATE_PATTERN.match(value or ""))


@dataclass(frozen=True)
class IngestSettings:
    throttle_rate: str
    raw_payload_max_bytes: int
    raw_payload_retention_days: int
    key_overlap_hours: int
    signature_max_age_seconds: int


def ingest_settings() -> IngestSettings:
    values = IngestSettings(
        throttle_rate=getattr(settings, "INGEST_THROTTLE_RATE", "6000/min"),
        raw_payload_max_bytes=getattr(settings, "INGEST_RAW_PAYLOAD_MAX_BYTES", 64 * 1024),
        raw_payload_retention_days=getattr(settings, "INGEST_RAW_PAYLOAD_RETENTION_DAYS", 7),
        key_overlap_hours=getattr(settings, "INGEST_KEY_OVERLAP_HOURS", 24),
        signature_max_age_seconds=getattr(settings, "INGEST_SIGNATURE_MAX_AGE_SECONDS", 300),
    )
    if not valid_rate(values.throttle_rate):
        raise ImproperlyConfigured(f"INGEST_THROTTLE_RATE {values.throttle_rate!r} is not like '6000/min'")
    return values
