import os
import time
import uuid

from django.db import models
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


def time_ordered_uuid() -> uuid.UUID:
    """A UUID whose first 48 bits are the Unix time in milliseconds (the UUIDv7 layout): new rows go
    to the right edge of the primary-key index instead of a random page, like a sequence would."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


class RawPayload(TenantModel):
    """One accepted ingestion request as it arrived (bounded), and what it produced.

    The id is a UUID made by the application so the alerts of the request can point at their payload
    in the same statements that write them, before the payload row itself is inserted. Rows older
    than ``INGEST_RAW_PAYLOAD_RETENTION_DAYS`` are deleted by a beat tick; alerts keep a dangling id
    (no foreign-key constraint: deleting a day of payloads must not rewrite the alerts table).
    """

    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    # Written once per request: the composite indexes below serve every read, so the foreign keys
    # carry no single-column indexes of their own.
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, db_index=False)
    integration = models.ForeignKey(
        "incidents.Integration", on_delete=models.CASCADE, related_name="raw_payloads", db_index=False
    )
    received_at = models.DateTimeField(default=timezone.now)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    size = models.PositiveIntegerField(default=0, help_text="Bytes received.")
    truncated = models.BooleanField(default=False)
    # Per produced event: {"dedup_key", "status", "outcome", "incident", "alert"}; outcome is one of
    # created / attached / deduplicated / resolved / acknowledged / suppressed / dropped / ignored.
    result = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["integration", "-received_at"], name="rawpayload_recent_idx"),
            models.Index(fields=["received_at"], name="rawpayload_retention_idx"),
            models.Index(fields=["organization", "-received_at"], name="rawpayload_org_recent_idx"),
        ]

    def __str__(self):
        return f"{self.integration_id} @ {self.received_at:%Y-%m-%d %H:%M:%S}"
