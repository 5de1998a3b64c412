"""The incidents app's event log: raw alert payloads (audit/eventlog/)."""

from audit.eventlog import EventLog
from opsplatform.core.prepared import insert_rows


def _insert(rows) -> None:
    # On the ingestion hot path (one payload per request): the full-row insert, values bound on the
    # server, not the ORM's save.
    if rows:
        insert_rows(type(rows[0]), rows)


RAW_PAYLOADS = EventLog(
    name="raw_payloads",
    model="incidents.RawPayload",
    time_field="received_at",
    fields=(
        "organization_id",
        "integration_id",
        "received_at",
        "content_type",
        "body",
        "size",
        "truncated",
        "result",
    ),
    pg_insert=_insert,
    indexes=(("integration_id", "received_at"),),
)
