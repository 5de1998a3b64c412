"""The incidents app's event log: raw alert payloads (audit/eventlog/)."""

from audit.eventlog import EventLog
from incidents.ingest.sql import execute
from opsplatform.core.prepared import insert_params, insert_sql


def _insert(rows) -> None:
    # The prepared insert of the ingestion hot path (one payload per request).
    for row in rows:
        execute(insert_sql(type(row), ""), insert_params(row))


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
